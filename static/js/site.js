/* Small enhancements for every page; everything works without them. */
(function () {
  "use strict";
  // After a form fails, move focus to the summary of problems so that keyboard and screen-reader users start there
  // (the summary also has autofocus, for browsers that honour it on any element).
  var summary = document.getElementById("error-summary");
  if (!summary) { return; }
  if (document.activeElement !== summary) { summary.focus(); }
  // A link in the summary goes to the first control of its field: focus it, and scroll so that the question (the
  // fieldset's legend, or the control's label) is in view above it, not cut off at the top of the screen.
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) { return; }
    var control = document.getElementById(link.getAttribute("href").slice(1));
    if (!control) { return; }
    event.preventDefault();
    var details = control.closest("details");
    if (details) { details.open = true; }
    // The outermost fieldset: on a rating page that is the statement, whose legend is the statement itself.
    var fieldset = null;
    for (var el = control.closest("fieldset"); el; el = el.parentElement && el.parentElement.closest("fieldset")) {
      fieldset = el;
    }
    var label = control.id ? document.querySelector("label[for='" + control.id + "']") : null;
    var question = (fieldset && fieldset.querySelector("legend")) || label || control;
    question.scrollIntoView();
    control.focus({ preventScroll: true });
  });
})();
