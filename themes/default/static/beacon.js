// Counts one view of a statically exported landing page at the leadmagnet server. The exported
// page is plain files on another host, so the server cannot count the view itself; this sends
// the page's slug, its A/B variant and the visitor's utm_source once, as a plain form-encoded beacon (no cookies
// read, no CORS preflight, nothing waits for the answer).
(function () {
  var me = document.currentScript;
  if (!me || !navigator.sendBeacon) { return; }
  var data = new URLSearchParams();
  data.set("slug", me.getAttribute("data-slug") || "");
  var variant = me.getAttribute("data-variant");
  if (variant) { data.set("variant", variant); }
  var source = new URLSearchParams(window.location.search).get("utm_source");
  if (source) { data.set("utm_source", source.slice(0, 200)); }
  navigator.sendBeacon(me.getAttribute("data-endpoint"), data);
})();
