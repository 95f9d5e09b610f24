// Optional: while a round's figures are being computed, asks every few seconds how far the close has got and says so
// in the page's live region. Without JavaScript the "Check again" link does the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-close-progress]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-close-progress");
  var live = box.querySelector(".build-status");
  var again = box.querySelector(".check-again");
  if (!again) { return; }
  var said = live.textContent.trim();
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (data.message && data.message !== said) { live.textContent = data.message; said = data.message; }
        if (data.status === "queued" || data.status === "running") {
          setTimeout(poll, 3000);
        } else if (data.status === "closed") {
          again.textContent = box.getAttribute("data-done-text");
        } else if (data.status === "failed") {
          again.textContent = box.getAttribute("data-failed-text");
        }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, 3000);
})();
