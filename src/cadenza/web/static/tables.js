// Tables on a phone: no column is ever hidden (walk-through problem 6). Each data cell gets its column's
// heading as data-label, and a table of four or more columns becomes "stacked": under 40rem the
// stylesheet shows one card per row, each value after its heading. The explicit ARIA roles keep the
// table a table for screen readers once CSS has changed its display. Without this script a wide table
// scrolls sideways in its own box instead (cadenza.css). Served from 'self' under the CSP.
(function () {
  "use strict";

  var MIN_COLUMNS = 4;

  function headings(table) {
    var row = table.tHead && table.tHead.rows[table.tHead.rows.length - 1];
    var names = [];
    if (!row) {
      return names;
    }
    Array.prototype.forEach.call(row.cells, function (cell) {
      for (var span = 0; span < (cell.colSpan || 1); span++) {
        names.push(cell.textContent.replace(/\s+/g, " ").trim());
      }
    });
    return names;
  }

  function label(table) {
    if (table.classList.contains("stacked")) {
      return;
    }
    var names = headings(table);
    if (names.length < MIN_COLUMNS) {
      return;
    }
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var inHead = row.parentNode === table.tHead;
        cell.setAttribute("role", inHead ? "columnheader" : (cell.tagName === "TH" ? "rowheader" : "cell"));
        if (!inHead) {
          cell.setAttribute("data-label", names[column] || "");
        }
        column += cell.colSpan || 1;
      });
    });
    Array.prototype.forEach.call(table.tBodies, function (body) {
      body.setAttribute("role", "rowgroup");
    });
    if (table.tHead) {
      table.tHead.setAttribute("role", "rowgroup");
    }
    table.classList.add("stacked");
  }

  function labelAll(root) {
    (root.querySelectorAll ? root : document).querySelectorAll("table").forEach(label);
  }

  function start() {
    labelAll(document);
    // Tables that htmx swaps in later (e.g. evidence results) are labelled too.
    document.body.addEventListener("htmx:afterSettle", function (event) {
      labelAll(event.target);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
