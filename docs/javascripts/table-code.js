// A code span in a table cell that holds a sentence (a status message, a command line) may wrap at its
// spaces; short names and flags (`--prometheus_port`) stay on one line (stylesheets/extra.css).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll(".md-typeset table:not([class]) td code").forEach(function (code) {
    var text = code.textContent;
    if (text.length > 24 && text.indexOf(" ") !== -1) code.classList.add("long-code");
  });
});
