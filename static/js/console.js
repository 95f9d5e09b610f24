// Optional: checks a consensus rule as it is typed, using the same parser as the server (no inline script; the
// "Check the rules" button works without JavaScript).
(function () {
  "use strict";
  var form = document.querySelector("form[data-rule-check]");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-rule-check");
  var live = form.querySelector(".rule-live");
  var token = form.querySelector("input[name=csrf_token]");
  var timer = null;
  function check(input) {
    var body = new URLSearchParams();
    body.set("rule", input.value);
    if (token) { body.set("csrf_token", token.value); }
    fetch(url, { method: "POST", body: body, credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        live.hidden = false;
        live.textContent = (input.labels && input.labels[0] ? input.labels[0].textContent + ": " : "") + data.message;
        input.setAttribute("aria-invalid", data.ok ? "false" : "true");
      })
      .catch(function () { /* the button still works */ });
  }
  ["include", "exclude"].forEach(function (name) {
    var input = form.querySelector("[name=" + name + "]");
    if (!input) { return; }
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { check(input); }, 400);
    });
  });
})();
