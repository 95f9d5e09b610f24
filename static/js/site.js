/* Small enhancements for every page; everything works without them. */
(function () {
  "use strict";
  // After a form fails, move focus to the summary of problems so that keyboard and screen-reader users start there.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }
})();
