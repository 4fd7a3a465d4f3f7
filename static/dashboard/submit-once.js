/* Forms that write are sent once: further clicks while the page is being sent do nothing, and
   the buttons show as disabled. (The server ignores a repeated one-time token as well.) */
(function () {
  "use strict";
  var BUTTONS = "button[type=submit], button:not([type]), input[type=submit]";

  function setBusy(form, busy) {
    form.querySelectorAll(BUTTONS).forEach(function (button) {
      button.disabled = busy;
    });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) { return; }
    if ((form.getAttribute("method") || "get").toLowerCase() !== "post") { return; }
    if (form.dataset.submitting === "1") { event.preventDefault(); return; }
    form.dataset.submitting = "1";
    // Disable after the browser has collected the clicked button's name and value: a button
    // disabled before that would be left out of the request.
    window.setTimeout(function () { setBusy(form, true); }, 0);
  });

  // Coming back with the Back button shows the page as it was left: make it usable again.
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) { return; }
    document.querySelectorAll("form[data-submitting]").forEach(function (form) {
      delete form.dataset.submitting;
      setBusy(form, false);
    });
  });
})();
