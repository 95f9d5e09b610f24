/* Saves each answer as it changes, so that nothing typed is lost if the page is closed. The page works the same
   without this script: every button also saves, and so does every control that leaves the page.

   An answer is saved once it settles: DELAY ms after its last change (arrow-keying from 1 to 7 is one save, not
   seven), at once when focus leaves the question, and when the page is hidden or closed. Its status ("Saving…",
   "Saved", "Not saved") is shown beside the question it belongs to. */
(function () {
  "use strict";
  var form = document.querySelector("form[data-autosave]");
  if (!form || !window.fetch) { return; }
  var url = form.getAttribute("data-autosave");
  var tokenInput = form.querySelector("input[name=csrf_token]");
  var savedText = form.getAttribute("data-saved-text") || "Saved";
  var failedText = form.getAttribute("data-failed-text") || "Not saved";
  var savingText = form.getAttribute("data-saving-text") || "Saving…";
  var offlineText = form.getAttribute("data-offline-text") || failedText;
  var DELAY = 800;
  // Answers waiting to settle: {field name: value}, each with its timer.
  var timers = {};
  var pending = {};
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

  // The status beside the field (a comment or a reason has its own); else the statement's.
  function statusFor(name) {
    return form.querySelector('[data-status-for="' + name + '"]') ||
      form.querySelector('[data-status-for="s' + name.slice(1) + '"]');
  }

  function showStatus(status, text, failed) {
    if (!status) { return; }
    status.classList.toggle("failed", !!failed);
    status.textContent = text;
  }

  // Wait for the answer to settle; a newer change restarts the wait.
  function later(name, value) {
    pending[name] = value;
    clearTimeout(timers[name]);
    timers[name] = setTimeout(function () { flush(name); }, DELAY);
  }

  // Save a waiting answer now.
  function flush(name) {
    if (!Object.prototype.hasOwnProperty.call(pending, name)) { return; }
    clearTimeout(timers[name]);
    var value = pending[name];
    delete timers[name];
    delete pending[name];
    save(name, value);
  }

  function flushAll() { Object.keys(pending).forEach(flush); }

  function dropWaiting() {
    Object.keys(timers).forEach(function (key) { clearTimeout(timers[key]); });
    timers = {};
    pending = {};
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
    // Announced once it is over: a live region that is busy waits, so a screen reader hears "Saved", not both.
    if (status) { status.setAttribute("aria-busy", "true"); }
    showStatus(status, savingText, false);
    var body = new URLSearchParams();
    body.append("field", name);
    body.append("value", value);
    fetch(url, {
      method: "POST",
      keepalive: true,  // a save started as the page closes still arrives
      credentials: "same-origin",
      headers: { "X-CSRFToken": tokenInput ? tokenInput.value : "", "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString()
    }).then(function (response) {
      return response.json().then(function (data) { return { ok: response.ok, data: data }; });
    }).then(function (result) {
      showStatus(status, result.ok ? savedText : (result.data.message || failedText), !result.ok);
    }).catch(function () {
      showStatus(status, offlineText, true);
    }).then(function () {
      if (status) { status.removeAttribute("aria-busy"); }
      inFlight[name] = false;
      if (Object.prototype.hasOwnProperty.call(latest, name)) { send(name); }
      settle();
    });
  }

  function whenIdle() {
    return busy === 0 ? Promise.resolve() : new Promise(function (resolve) { idleWaiters.push(resolve); });
  }

  // A page submit saves everything on the page; let background saves finish first so none lands after it.
  // Answers still settling need no save of their own: the submit sends the whole page.
  form.addEventListener("submit", function (event) {
    dropWaiting();
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
      later(el.name, el.value);
      showReason(el);
    }
  });
  form.addEventListener("input", function (event) {
    var el = event.target;
    if (el.tagName === "TEXTAREA") { later(el.name, el.value); }
  });
  // Leaving a question saves it at once; moving between the radios of one scale (the arrow keys) is not leaving it.
  form.addEventListener("focusout", function (event) {
    var el = event.target;
    var next = event.relatedTarget;
    if (!el.name) { return; }
    if (el.type === "radio" && next && next.type === "radio" && next.name === el.name) { return; }
    flush(el.name);
  });
  window.addEventListener("pagehide", flushAll);
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") { flushAll(); }
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
