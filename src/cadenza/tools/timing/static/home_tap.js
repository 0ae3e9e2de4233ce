// Tapping as a home task on the person's phone (the timing tool's part of /me/tasks/<id>).
// The cue is scheduled on the Web Audio clock (never timers) within the listener's gain cap; every tap (pointer,
// touch or key) is stamped on the same clock through AudioContext.getOutputTimestamp(). When the cue ends, the
// beats and the taps go to the home programme's offline queue ("cadenza:complete", app.js); the server measures.
"use strict";
(function () {
  const section = document.getElementById("tapping");
  const task = document.getElementById("measured-task");
  if (!section || !task) return;
  const startButton = document.getElementById("tap-start");
  const pad = document.getElementById("tap-pad");
  const count = document.getElementById("tap-count");
  const resultText = document.getElementById("tap-result");
  const done = document.getElementById("done");
  const tempo = Number(section.dataset.tempo);
  const beats = Number(section.dataset.beats);
  const leadIn = Number(section.dataset.leadIn);
  const cap = Math.max(0, Math.min(Number(section.dataset.cap), 1));
  const periodS = 60 / tempo;

  let ctx = null, cueTimes = [], taps = [], running = false, result = null;

  function clickBuffer(frequencyHz) {
    // 30 ms of a decaying tone: short and clear on a phone speaker.
    const n = Math.round(0.03 * ctx.sampleRate);
    const buffer = ctx.createBuffer(1, n, ctx.sampleRate);
    const data = buffer.getChannelData(0);
    for (let i = 0; i < n; i++) data[i] = Math.sin(2 * Math.PI * frequencyHz * i / ctx.sampleRate) * Math.exp(-i / (0.006 * ctx.sampleRate));
    return buffer;
  }

  function clockOf(event) {
    // The audio-clock time of a DOM event: performance time -> context time through the output timestamp.
    const ts = ctx.getOutputTimestamp();
    return ts.contextTime + (event.timeStamp - ts.performanceTime) / 1000;
  }

  function tap(event) {
    if (!running) return;
    taps.push(clockOf(event));
    count.textContent = `Taps: ${taps.length}`;
  }

  function whenAudioClockPasses(timeS, then) {
    const check = () => (ctx.currentTime >= timeS ? then() : setTimeout(check, 100));
    check();
  }

  function finish() {
    running = false;
    pad.disabled = true;
    startButton.hidden = false;
    startButton.textContent = "Start again";
    result = {cue_times_s: cueTimes, tap_times_s: taps};
    count.textContent = `Done: ${taps.length} taps. Press "Send my result" to see how you did.`;
    done.disabled = false;
  }

  startButton.addEventListener("click", async () => {
    if (!ctx) ctx = new (window.AudioContext || window.webkitAudioContext)({latencyHint: "interactive"});
    await ctx.resume();
    const gain = ctx.createGain();
    gain.gain.value = cap;
    gain.connect(ctx.destination);
    const ready = clickBuffer(1320), beat = clickBuffer(880);
    const first = ctx.currentTime + 1.0;
    cueTimes = [];
    taps = [];
    for (let i = 0; i < beats; i++) {
      const at = first + i * periodS;
      const source = ctx.createBufferSource();
      source.buffer = i < leadIn ? ready : beat;
      source.connect(gain);
      source.start(at);
      cueTimes.push(at);
    }
    running = true;
    result = null;
    done.disabled = true;
    startButton.hidden = true;
    pad.disabled = false;
    pad.focus();
    resultText.textContent = "";
    count.textContent = `Listen to ${leadIn} clicks, then tap with each click.`;
    whenAudioClockPasses(cueTimes[cueTimes.length - 1] + periodS, finish);
  });

  pad.addEventListener("pointerdown", (event) => { event.preventDefault(); tap(event); });
  document.addEventListener("keydown", (event) => {
    if (!running || event.repeat || ["Tab", "Shift", "Control", "Alt", "Meta"].includes(event.key)) return;
    event.preventDefault();
    tap(event);
  });

  done.addEventListener("click", () => {
    if (!result) return;
    done.disabled = true;
    const playedS = cueTimes.length ? cueTimes[cueTimes.length - 1] - cueTimes[0] + periodS : 0;
    document.dispatchEvent(new CustomEvent("cadenza:complete", {detail: {
      task_id: Number(task.dataset.task), played_s: playedS, max_gain: cap, result: result}}));
  });

  document.addEventListener("cadenza:stored", (event) => {
    const d = event.detail || {};
    if (d.task_id === Number(task.dataset.task) && d.scores && d.scores.summary) resultText.textContent = d.scores.summary;
  });
})();
