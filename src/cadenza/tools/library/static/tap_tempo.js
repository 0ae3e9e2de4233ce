// Tap tempo on the library page: each press of a [data-tap] button is one beat. The tempo is the median
// of the last intervals (a pause over 2 s starts again), written into the form's "bpm" field, and the
// form's save button becomes a "tap" correction. Intervals use the input event's own time stamp (the
// moment of the press, not of the handler), so a busy page does not bend the tempo.
(function () {
  "use strict";
  var MAX_TAPS = 9, RESET_MS = 2000;

  function median(values) {
    var s = values.slice().sort(function (a, b) { return a - b; });
    var m = Math.floor(s.length / 2);
    return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
  }

  function onTap(event) {
    var button = event.currentTarget, form = button.form;
    var now = event.timeStamp || performance.now();
    var taps = button._taps || [];
    if (taps.length && now - taps[taps.length - 1] > RESET_MS) { taps = []; }
    taps.push(now);
    if (taps.length > MAX_TAPS) { taps.shift(); }
    button._taps = taps;
    var status = form.querySelector("[data-tap-status]");
    if (taps.length < 3) {
      if (status) { status.textContent = "keep tapping with the beat (" + taps.length + ")"; }
      return;
    }
    var intervals = [];
    for (var i = 1; i < taps.length; i++) { intervals.push(taps[i] - taps[i - 1]); }
    var bpm = 60000 / median(intervals);
    form.querySelector("input[name=bpm]").value = bpm.toFixed(1);
    var save = form.querySelector("button[data-tap-save]");
    if (save) { save.value = "tap"; }
    if (status) { status.textContent = taps.length + " taps: " + bpm.toFixed(1) + " BPM"; }
  }

  function onType(event) {  // a typed tempo is a "set", not a "tap"
    var save = event.currentTarget.form.querySelector("button[data-tap-save]");
    if (save) { save.value = "set"; }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-tap]").forEach(function (b) {
      b.addEventListener("pointerdown", onTap);
      b.addEventListener("keydown", function (e) { if (e.key === " " || e.key === "Enter") { e.preventDefault(); onTap(e); } });
      b.hidden = false;
    });
    document.querySelectorAll("form[data-tempo] input[name=bpm]").forEach(function (i) {
      i.addEventListener("input", onType);
    });
  });
})();
