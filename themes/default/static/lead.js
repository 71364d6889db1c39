// Fills the form's hidden fields from the visitor's own URL and referrer, in the browser, so the
// page stays the same bytes for everyone. The form works without it: it only adds attribution.
(function () {
  var params = new URLSearchParams(window.location.search);
  var started = Date.now();
  document.querySelectorAll("form.lead").forEach(function (form) {
    ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"].forEach(function (name) {
      var input = form.elements[name];
      if (input && params.get(name)) { input.value = params.get(name).slice(0, 200); }
    });
    if (form.elements.referrer && document.referrer) { form.elements.referrer.value = document.referrer.slice(0, 500); }
    if (form.elements.form_ts) { form.elements.form_ts.value = String(started); }
  });
})();
