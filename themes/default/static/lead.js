// Fills the form's hidden fields from the visitor's own URL and referrer, in the browser, so the
// page stays the same bytes for everyone. The form works without it: it only adds attribution and
// the fill time (form_ts = "<loaded>-<submitted>" in ms of this browser's clock; see spam.py).
(function () {
  var params = new URLSearchParams(window.location.search);
  var started = Date.now();
  document.querySelectorAll("form.lead").forEach(function (form) {
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (name) {
      var input = form.elements[name];
      if (input && !input.value && params.get(name)) { input.value = params.get(name).slice(0, 200); }
    });
    // Only on the first load: a form shown again (data-again) carries the first load's referrer,
    // and the browser's own is now this page; a reload's referrer is this page too.
    var own = window.location.origin + window.location.pathname;
    if (form.elements.referrer && !form.elements.referrer.value && document.referrer && !form.hasAttribute("data-again") &&
        document.referrer.split(/[?#]/)[0] !== own) {
      form.elements.referrer.value = document.referrer.slice(0, 500);
    }
    if (form.elements.form_ts) {
      // A page re-shown with errors keeps the first load time: fixing one typo is quick.
      var first = form.elements.form_ts.value.split("-")[0];
      var loaded = /^[0-9]{10,16}$/.test(first) ? first : String(started);
      form.elements.form_ts.value = loaded;
      form.addEventListener("submit", function () { form.elements.form_ts.value = loaded + "-" + Date.now(); });
    }
  });
  // After a failed submission, move focus to the error summary so it is read out first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
