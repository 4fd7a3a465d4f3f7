/* Keyboard shortcuts of the dashboard's lists: "/" search, "j"/"k" move the row focus, Enter
   opens the focused row, "x" ticks its checkbox, "?" shows the help overlay (#keys-help).
   Rows are tr[data-row]; a row opens its a[data-row-link]; the search box is [data-list-search].
   Keys typed into a field are left alone, so a search for "j" still types a "j"; Enter on a
   filter form's list sends the form, as Enter in its search box does. */
(function () {
  "use strict";
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr[data-row]"));
  var help = document.getElementById("keys-help");
  var current = -1;

  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function focusRow(index) {
    if (!rows.length) { return; }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows.forEach(function (row, i) { row.classList.toggle("row-focus", i === current); });
    var row = rows[current];
    row.setAttribute("tabindex", "-1");
    row.focus({ preventScroll: true });
    row.scrollIntoView({ block: "nearest" });
  }

  function toggleHelp() {
    if (!help) { return; }
    if (help.open) { help.close(); } else { help.showModal(); }
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typing(event.target)) {
      if (event.key === "Escape") { event.target.blur(); }
      // A browser sends a form on Enter in a text field but not on a list: in a filter form,
      // a filter just chosen applies on Enter as well.
      var form = event.target.form;
      if (event.key === "Enter" && event.target.tagName === "SELECT" && form &&
          form.classList.contains("filters") && form.method === "get") {
        event.preventDefault();
        form.requestSubmit();
      }
      return;
    }
    if (help && help.open && event.key !== "?") { return; }
    var search = document.querySelector("[data-list-search]");
    switch (event.key) {
      case "/":
        if (search) { event.preventDefault(); search.focus(); search.select(); }
        break;
      case "j":
        event.preventDefault(); focusRow(current + 1);
        break;
      case "k":
        event.preventDefault(); focusRow(current < 0 ? 0 : current - 1);
        break;
      case "Enter":
        if (current >= 0 && event.target === rows[current]) {
          var link = rows[current].querySelector("a[data-row-link]") || rows[current].querySelector("a");
          if (link) { event.preventDefault(); link.click(); }
        }
        break;
      case "x":
        if (current >= 0) {
          var box = rows[current].querySelector("input[type=checkbox]");
          if (box) { event.preventDefault(); box.click(); }
        }
        break;
      case "?":
        event.preventDefault(); toggleHelp();
        break;
      default:
        break;
    }
  });
})();
