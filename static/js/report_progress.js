// Optional: while the downloads are being made, asks every few seconds how far the build has got and says so in the
// page's live region. Without JavaScript the "Check again" link does the same.
(function () {
  "use strict";
  var box = document.querySelector("[data-build-progress]");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-build-progress");
  var live = box.querySelector(".build-status");
  var bar = box.querySelector("progress");
  var again = box.querySelector(".check-again");
  if (!again) { return; }
  var said = live.textContent.trim();
  // The page's language: "{done} of {total}" and the ready link's words come from the page, translated there.
  var countText = box.getAttribute("data-count-text") || "{done} of {total}";
  var readyText = box.getAttribute("data-ready-text") || "Show the downloads";
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (bar && data.total) { bar.max = data.total; bar.value = data.done; bar.textContent = countText.replace("{done}", data.done).replace("{total}", data.total); }
        if (data.message && data.message !== said) { live.textContent = data.message; said = data.message; }
        if (data.status === "queued" || data.status === "running") {
          setTimeout(poll, 3000);
        } else if (data.status === "ready") {
          again.textContent = readyText;
        }
      })
      .catch(function () { setTimeout(poll, 10000); });
  }
  setTimeout(poll, 3000);
})();
