/* Saves each answer as it changes, so that nothing typed is lost if the page is closed. The page works the same
   without this script: every button also saves. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-autosave");
  var tokenInput = form.querySelector("input[name=csrf_token]");
  var savedText = form.getAttribute("data-saved-text") || "Saved";
  var failedText = form.getAttribute("data-failed-text") || "Not saved";
  var timers = {};
  // One request at a time per field, always sending the latest value, so that answers cannot land out of order.
  var inFlight = {};
  var latest = {};
  var busy = 0;
  var idleWaiters = [];

  function band(value) {
    var agree = (form.getAttribute("data-agree") || "").split("-").map(Number);
    var disagree = (form.getAttribute("data-disagree") || "").split("-").map(Number);
    if (value === "" || isNaN(Number(value))) { return "none"; }
    var v = Number(value);
    if (v >= agree[0] && v <= agree[1]) { return "agree"; }
    if (v >= disagree[0] && v <= disagree[1]) { return "disagree"; }
    return "neutral";
  }

  function statusFor(name) {
    var key = name.charAt(0) === "q" ? name : "s" + name.slice(1);
    return form.querySelector('[data-status-for="' + key + '"]');
  }

  function save(name, value) {
    latest[name] = value;
    if (inFlight[name]) { return; }
    send(name);
  }

  function settle() {
    busy -= 1;
    if (busy === 0) { idleWaiters.splice(0).forEach(function (resolve) { resolve(); }); }
  }

  function send(name) {
    var value = latest[name];
    delete latest[name];
    inFlight[name] = true;
    busy += 1;
    var status = statusFor(name);
    var body = new URLSearchParams();
    body.append("field", name);
    body.append("value", value);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": tokenInput ? tokenInput.value : "", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      if (status) { status.textContent = result.ok ? savedText : (result.data.message || failedText); }
    }).catch(function () {
      if (status) { status.textContent = failedText; }
    }).then(function () {
      inFlight[name] = false;
      if (Object.prototype.hasOwnProperty.call(latest, name)) { send(name); }
      settle();
    });
  }

  function whenIdle() {
    return busy === 0 ? Promise.resolve() : new Promise(function (resolve) { idleWaiters.push(resolve); });
  }

  // A page submit saves everything on the page; let background saves finish first so none lands after it.
  form.addEventListener("submit", function (event) {
    Object.keys(timers).forEach(function (key) { clearTimeout(timers[key]); delete timers[key]; });
    if (busy === 0 || form.getAttribute("data-ready") === "1") { return; }
    event.preventDefault();
    var submitter = event.submitter;
    whenIdle().then(function () {
      form.setAttribute("data-ready", "1");
      if (form.requestSubmit) { form.requestSubmit(submitter); } else { form.submit(); }
    });
  });

  function showReason(radio) {
    var fieldset = radio.closest("fieldset.statement");
    if (!fieldset) { return; }
    var scale = fieldset.querySelector("[data-previous-band]");
    var reason = fieldset.querySelector(".change-reason");
    if (!scale || !reason) { return; }
    var before = scale.getAttribute("data-previous-band");
    var checked = fieldset.querySelector("input[type=radio]:checked");
    var moved = before !== "" && checked && band(checked.value) !== band(before);
    reason.hidden = !moved && !reason.querySelector("textarea").value;
  }

  form.querySelectorAll(".change-reason").forEach(function (reason) {
    var radio = reason.closest("fieldset.statement").querySelector("input[type=radio]");
    if (radio) { showReason(radio); }
  });

  form.addEventListener("change", function (event) {
    var el = event.target;
    if (el.type === "radio") {
      save(el.name, el.value);
      showReason(el);
    }
  });
  form.addEventListener("input", function (event) {
    var el = event.target;
    if (el.tagName !== "TEXTAREA") { return; }
    clearTimeout(timers[el.name]);
    timers[el.name] = setTimeout(function () { save(el.name, el.value); }, 800);
  });
  form.addEventListener("focusout", function (event) {
    var el = event.target;
    if (el.tagName === "TEXTAREA" && timers[el.name]) {
      clearTimeout(timers[el.name]);
      delete timers[el.name];
      save(el.name, el.value);
    }
  });

  // On a slow phone a panellist can answer before this deferred script runs; save those answers now rather than only
  // when a button is pressed.
  form.querySelectorAll("input[type=radio]").forEach(function (radio) {
    if (radio.checked && !radio.defaultChecked) { save(radio.name, radio.value); }
  });
  form.querySelectorAll("textarea").forEach(function (area) {
    if (area.value !== area.defaultValue) { save(area.name, area.value); }
  });
})();
