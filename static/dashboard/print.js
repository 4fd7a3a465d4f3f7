/* A "Print" button (data-print) prints the page: no inline handler, so the CSP needs none. */
document.querySelectorAll("[data-print]").forEach(function (button) {
  button.addEventListener("click", function () { window.print(); });
});
