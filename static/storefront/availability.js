/*
 * Backorder Desk availability widget: shows "In stock" or "Backordered — ships by 14 Dec" on a
 * product page. No framework, no build step. Embed it with a publishable key:
 *
 *   <script src="https://desk.example/static/storefront/availability.js"
 *           data-key="pk_live_…" data-sku="LAMP-4" async></script>
 *
 * which shows the text right after the script, or mark any number of places on the page:
 *
 *   <div data-backorder-desk-sku="LAMP-4" data-quantity="1"></div>
 *
 * Optional on the script: data-quantity, data-locale (default en-GB), data-endpoint (the API's
 * address when the script is served from elsewhere). On any error it shows nothing.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script) {
    return;
  }
  var key = script.getAttribute("data-key") || "";
  var locale = script.getAttribute("data-locale") || "en-GB";
  var endpoint =
    script.getAttribute("data-endpoint") ||
    new URL("/api/v1/public/availability/", script.src).href;
  var WORDS = {
    in_stock: "In stock",
    backordered: "Backordered",
    preorder: "Pre-order",
    unavailable: "Out of stock",
  };

  function shownDate(isoDate) {
    var parts = isoDate.split("-").map(Number);
    var date = new Date(Date.UTC(parts[0], parts[1] - 1, parts[2]));
    var options = { day: "numeric", month: "short", timeZone: "UTC" };
    if (parts[0] !== new Date().getFullYear()) {
      options.year = "numeric";
    }
    return new Intl.DateTimeFormat(locale, options).format(date);
  }

  function render(place, answer) {
    var words = WORDS[answer.status];
    if (!words) {
      return;
    }
    place.textContent = "";
    place.classList.add("bd-availability", "bd-availability--" + answer.status);
    place.appendChild(document.createTextNode(words));
    if (answer.ships_by && (answer.status === "backordered" || answer.status === "preorder")) {
      var time = document.createElement("time");
      time.setAttribute("datetime", answer.ships_by);
      time.textContent = shownDate(answer.ships_by);
      place.appendChild(document.createTextNode(" — ships by "));
      place.appendChild(time);
    }
  }

  function show(place, sku, quantity) {
    var placeKey = place.getAttribute("data-key") || key;
    if (!placeKey || !sku) {
      return;
    }
    // Announced when it arrives, without taking the reader's focus.
    place.setAttribute("aria-live", "polite");
    var url = new URL(endpoint);
    url.searchParams.set("key", placeKey);
    url.searchParams.set("sku", sku);
    url.searchParams.set("quantity", String(quantity || 1));
    fetch(url.href, { credentials: "omit", mode: "cors" })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (answer) {
        if (answer) {
          render(place, answer);
        }
      })
      .catch(function () {
        // The product page stays as it was: no message is better than a wrong one.
      });
  }

  function showMarked() {
    var places = document.querySelectorAll("[data-backorder-desk-sku]");
    Array.prototype.forEach.call(places, function (place) {
      show(
        place,
        place.getAttribute("data-backorder-desk-sku"),
        place.getAttribute("data-quantity")
      );
    });
  }

  // An async script may run before the rest of the page is parsed.
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", showMarked);
  } else {
    showMarked();
  }
  var sku = script.getAttribute("data-sku");
  if (sku && script.parentNode) {
    var place = document.createElement("span");
    script.parentNode.insertBefore(place, script.nextSibling);
    show(place, sku, script.getAttribute("data-quantity"));
  }
})();
