// Counts one view of a statically exported landing page at the leadmagnet server. The exported
// page is plain files on another host, so the server cannot count the view itself; this sends
// the page's slug, its A/B variant, the visitor's utm_source, utm_medium and utm_campaign and the
// page's referrer once, as a plain form-encoded beacon (no cookies read, no CORS preflight,
// nothing waits for the answer).
(function () {
  var me = document.currentScript;
  if (!me || !navigator.sendBeacon) { return; }
  var data = new URLSearchParams();
  data.set("slug", me.getAttribute("data-slug") || "");
  var variant = me.getAttribute("data-variant");
  if (variant) { data.set("variant", variant); }
  var query = new URLSearchParams(window.location.search);
  ["utm_source", "utm_medium", "utm_campaign"].forEach(function (name) {
    var value = query.get(name);
    if (value) { data.set(name, value.slice(0, 200)); }
  });
  if (document.referrer) { data.set("referrer", document.referrer.slice(0, 500)); }
  navigator.sendBeacon(me.getAttribute("data-endpoint"), data);
})();
