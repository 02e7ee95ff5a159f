// conso portal: live updates by polling the server's HTML fragments, instant filtering
// of the fleet table, and submitting the language choice. Works without it, too.
(function () {
  "use strict";
  var INTERVAL = 3000;

  function poll(el) {
    var url = el.getAttribute("data-live");
    var last = el.innerHTML;
    function tick() {
      if (document.hidden) { return; }
      fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (html !== null && html !== last) {
            el.innerHTML = html;
            last = html;
            applyFilters();
          }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }
    setInterval(tick, INTERVAL);
  }

  function applyFilters() {
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      var table = document.querySelector(input.getAttribute("data-filter"));
      if (!table) { return; }
      var needle = input.value.trim().toLowerCase();
      table.querySelectorAll("tbody tr[data-search]").forEach(function (row) {
        var hay = row.getAttribute("data-search").toLowerCase();
        row.hidden = needle !== "" && hay.indexOf(needle) === -1;
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-live]").forEach(poll);
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      input.addEventListener("input", applyFilters);
    });
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
}());
