/* A wide table or chart that scrolls sideways on a narrow screen takes keyboard focus, so it
   can be scrolled with the arrow keys; one that fits adds no Tab stop. Checked again when the
   window is resized (a tablet turned round). */
(function () {
  "use strict";
  var SELECTOR = ".table-wrap, .table-wrap > table, .chart-scroll";

  function scrolls(element) {
    var style = window.getComputedStyle(element);
    var sideways = /auto|scroll/.test(style.overflowX) && element.scrollWidth > element.clientWidth + 1;
    var down = /auto|scroll/.test(style.overflowY) && element.scrollHeight > element.clientHeight + 1;
    return sideways || down;
  }

  function mark() {
    document.querySelectorAll(SELECTOR).forEach(function (element) {
      if (scrolls(element)) {
        if (!element.hasAttribute("tabindex")) {
          element.setAttribute("tabindex", "0");
          element.dataset.scrollFocus = "1";
        }
      } else if (element.dataset.scrollFocus) {
        element.removeAttribute("tabindex");
        delete element.dataset.scrollFocus;
      }
    });
  }

  var timer = null;
  mark();
  window.addEventListener("resize", function () {
    clearTimeout(timer);
    timer = setTimeout(mark, 150);
  });
})();
