/* Live availability: fetch the quote fragment for a row when its SKU or quantity changes.
   Enter in a line row checks that row at once and stays in the field (a phone order is rarely
   one line long, so Enter there must not place a half-typed order); Enter in any other field
   places the order, exactly as the "Place order" button does. */
(function () {
  var form = document.getElementById("order-new");
  if (!form) { return; }
  var url = form.getAttribute("data-quote-url");
  var rows = form.querySelectorAll("tr.line-row");
  var place = form.querySelector("button[data-place-order]");
  rows.forEach(function (row) {
    var sku = row.querySelector(".quote-sku");
    var qty = row.querySelector(".quote-quantity");
    var out = row.querySelector(".quote");
    var timer = null;
    var controller = null;
    function refresh() {
      var s = sku.value.trim();
      if (!s) { out.innerHTML = ""; row.classList.remove("cannot-order"); return; }
      if (controller) { controller.abort(); }
      controller = new AbortController();
      var params = new URLSearchParams({ sku: s, quantity: qty.value.trim() || "1" });
      fetch(url + "?" + params.toString(), {
        credentials: "same-origin", signal: controller.signal,
        headers: { "X-Requested-With": "fetch" }
      }).then(function (response) {
        if (!response.ok) { throw new Error(response.status); }
        return response.text();
      }).then(function (html) {
        out.innerHTML = html;
        // A row that cannot be ordered as typed stands out before anyone presses Place.
        row.classList.toggle("cannot-order", out.querySelector(".badge.bad, .muted:only-child") !== null);
      })
        .catch(function (error) {
          if (error.name !== "AbortError") { out.textContent = "Could not check availability just now."; }
        });
    }
    function later() { clearTimeout(timer); timer = setTimeout(refresh, 300); }
    sku.addEventListener("input", later);
    qty.addEventListener("input", later);
    sku.addEventListener("change", refresh);
    row.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" || event.isComposing) { return; }
      if (event.target !== sku && event.target !== qty) { return; }
      event.preventDefault();
      clearTimeout(timer);
      refresh();
    });
  });
  // Enter in the other fields: the browser would press the form's first button ("Check
  // availability"); press "Place order" instead. Buttons, links and lists keep their own Enter.
  form.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.isComposing || event.defaultPrevented || !place) { return; }
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) { return; }
    var target = event.target;
    if (!(target instanceof HTMLInputElement)) { return; }
    if (["button", "submit", "reset", "image", "file"].indexOf(target.type) !== -1) { return; }
    event.preventDefault();
    form.requestSubmit(place);
  });
  var errors = document.getElementById("order-errors");
  if (errors) { errors.setAttribute("tabindex", "-1"); errors.focus(); }
})();
