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
        .then(function (r) {
          // X-Conso-Fetched: the service worker's copy, served offline (sw.js).
          if (r.ok) { showOffline(r.headers.get("X-Conso-Fetched")); }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html !== null && html !== last) {
            replaceKeepingTicks(el, html);
            last = html;
            applyFilters();
          }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }
    setInterval(tick, INTERVAL);
    if (offlineAt()) { tick(); }  // a kept page: its fragment may be newer
  }

  // Offline: the page or figures come from the service worker's copy, fetched at `at`
  // (ISO time); say so, with that time in the page's language and Brussels time.
  function offlineAt() {
    return document.documentElement.getAttribute("data-offline-as-of");
  }

  function showOffline(at) {
    var note = document.querySelector("[data-offline-note]");
    var when = at ? new Date(at) : null;
    if (!note) { return; }
    if (!when || isNaN(when.getTime())) { note.hidden = true; return; }
    var lang = document.documentElement.lang || "en";
    var zone = "Europe/Brussels";
    var day = { year: "numeric", month: "2-digit", day: "2-digit", timeZone: zone };
    var sameDay = new Intl.DateTimeFormat("en", day).format(when)
      === new Intl.DateTimeFormat("en", day).format(new Date());
    var shown = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: zone };
    if (!sameDay) { shown.day = "numeric"; shown.month = "long"; }
    var time = document.createElement("time");
    time.setAttribute("datetime", when.toISOString());
    time.textContent = new Intl.DateTimeFormat(lang, shown).format(when);
    var words = note.getAttribute("data-offline-note").split("{time}");
    note.textContent = words[0];
    note.appendChild(time);
    note.appendChild(document.createTextNode(words.slice(1).join("")));
    note.hidden = false;
  }

  // The service worker (sw.js): the app installs and shows the last figures offline.
  // A page loaded before the worker controlled it asks it to keep that page too.
  function registerWorker() {
    if (!("serviceWorker" in navigator)) { return; }
    var controlled = Boolean(navigator.serviceWorker.controller);
    navigator.serviceWorker.register("/portal/sw.js", { scope: "/portal" })
      .then(function () { return navigator.serviceWorker.ready; })
      .then(function (registration) {
        if (!controlled && registration.active) {
          registration.active.postMessage({ keep: location.pathname });
        }
      })
      .catch(function () { /* no worker: the portal works online as before */ });
  }

  // The fleet table's rows are replaced live: the lines ticked for a bulk change stay so.
  function replaceKeepingTicks(el, html) {
    var ticked = {};
    el.querySelectorAll("input[type=checkbox]:checked").forEach(function (box) {
      ticked[box.name + "\n" + box.value] = true;
    });
    el.innerHTML = html;
    el.querySelectorAll("input[type=checkbox]").forEach(function (box) {
      if (ticked[box.name + "\n" + box.value]) { box.checked = true; }
    });
  }

  // "Select every line shown": with the script it ticks the rows shown, and the ticks are
  // what is sent; without it, the box itself asks the server for every line shown.
  function selectAll(box) {
    box.removeAttribute("name");
    box.addEventListener("change", function () {
      var table = document.querySelector(box.getAttribute("data-select-all"));
      if (!table) { return; }
      table.querySelectorAll("tbody tr[data-search]").forEach(function (row) {
        var pick = row.querySelector("input[type=checkbox][name=line]");
        if (pick && !row.hidden) { pick.checked = box.checked; }
      });
    });
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
    showOffline(offlineAt());
    registerWorker();
    document.querySelectorAll("[data-live]").forEach(poll);
    document.querySelectorAll("input[data-filter]").forEach(function (input) {
      input.addEventListener("input", applyFilters);
    });
    document.querySelectorAll("input[data-select-all]").forEach(selectAll);
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
}());
