// emoconvey admin page: sortable tables and collapsible sections that stay as the
// operator left them across the automatic refresh (no inline scripts: CSP).
(function () {
  "use strict";
  var store = window.sessionStorage;
  // live refresh with a pause button (the page's <noscript> meta refresh otherwise)
  var toggle = document.getElementById("live-toggle");
  var paused = store && store.getItem("ec-live-paused") === "1";
  var timer = null;
  function schedule() {
    if (timer) { clearTimeout(timer); timer = null; }
    if (!paused) { timer = setTimeout(function () { window.location.reload(); }, 15000); }
    if (toggle) {
      toggle.hidden = false;
      toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
      toggle.setAttribute("aria-pressed", paused ? "true" : "false");
    }
    var state = document.getElementById("live-state");
    if (state) { state.textContent = paused ? " (paused)" : ""; }
  }
  if (toggle) {
    toggle.addEventListener("click", function () {
      paused = !paused;
      if (store) { store.setItem("ec-live-paused", paused ? "1" : "0"); }
      schedule();
    });
  }
  schedule();
  document.querySelectorAll("details[id]").forEach(function (d) {
    var saved = store && store.getItem("ec-open-" + d.id);
    if (saved !== null && saved !== undefined) { d.open = saved === "1"; }
    d.addEventListener("toggle", function () {
      if (store) { store.setItem("ec-open-" + d.id, d.open ? "1" : "0"); }
    });
  });
  function sortTable(table, col, dir) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = a.cells[col].dataset.v || a.cells[col].textContent;
      var y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return dir === "ascending" ? c : -c;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    table.querySelectorAll("th").forEach(function (th, i) {
      if (i === col) { th.setAttribute("aria-sort", dir); } else { th.removeAttribute("aria-sort"); }
    });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    var key = "ec-sort-" + table.id;
    table.querySelectorAll("th").forEach(function (th, col) {
      var b = document.createElement("button");
      b.type = "button";
      b.className = "sort";
      b.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        sortTable(table, col, dir);
        if (store) { store.setItem(key, col + ":" + dir); }
      });
    });
    var saved = store && store.getItem(key);
    if (saved) {
      var parts = saved.split(":");
      sortTable(table, parseInt(parts[0], 10), parts[1]);
    }
  });
})();
