// The live rhythm page: the browser captures and schedules, the server measures.
// - the loopback test sound and the cue's beats are scheduled on the Web Audio clock (AudioBufferSourceNode.start(t)),
//   never with timers; timers only wait for a block to end;
// - the microphone is captured in an AudioWorklet (/timing/capture.js, through /timing/microphone.js) with the
//   audio-clock frame of every block;
// - touches, keys and Web MIDI note-ons are stamped on the audio clock through AudioContext.getOutputTimestamp();
// - the capture is posted as raw 16-bit PCM with the scheduled times; the server's answer (an HTML fragment) is shown.
"use strict";
(function () {
  const live = document.getElementById("live");
  if (!live) return;
  const clientId = live.dataset.client;
  let csrf = "";
  try { csrf = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRF-Token"] || ""; } catch (e) { /* none */ }
  const MAX_LATENCY_S = 1.5;      // the loopback search window: Bluetooth outputs add up to about 0.65 s
  const KEEP_S = 200;             // seconds of microphone kept in memory
  // Every sound goes through one gain within the client's listening cap (computed on the server).
  const gainCap = Math.max(0, Math.min(1, Number(live.dataset.gainCap || 0)));
  let ctx = null, mic = null, out = null;

  async function ensureAudio() {
    if (!ctx) {
      ctx = new AudioContext({latencyHint: "interactive"});
      out = ctx.createGain();
      out.gain.value = gainCap;
      out.connect(ctx.destination);
    }
    await ctx.resume();
    live.dataset.rate = String(ctx.sampleRate);
  }

  async function ensureMic() {
    await ensureAudio();
    if (mic) return;
    const microphone = window.cadenzaMicrophone(ctx, KEEP_S);  // static/microphone.js
    await microphone.open();
    mic = microphone;
    live.dataset.mic = "open";
  }

  // The microphone between two audio-clock times, as 16-bit PCM, with the time of its first sample.
  function captureBetween(fromS, toS) {
    return mic ? mic.between(fromS, toS) : null;
  }

  function clockOf(event) {
    // The audio-clock time of a DOM event: performance time -> context time through the output timestamp.
    const ts = ctx.getOutputTimestamp();
    return ts.contextTime + (event.timeStamp - ts.performanceTime) / 1000;
  }

  function waitUntil(timeS, isStopped) {
    return new Promise((resolve) => {
      const check = () => (ctx.currentTime >= timeS || (isStopped && isStopped())) ? resolve() : setTimeout(check, 50);
      check();
    });
  }

  async function post(url, fields, capture, target) {
    const body = new FormData();
    for (const [k, v] of Object.entries(fields)) body.append(k, typeof v === "string" ? v : JSON.stringify(v));
    if (capture) {
      body.append("capture", new Blob([capture.pcm.buffer], {type: "application/octet-stream"}), "capture.pcm");
      body.append("sampling_rate_hz", String(ctx.sampleRate));
      body.append("capture_start_s", capture.startS.toFixed(6));
    }
    const response = await fetch(url, {method: "POST", credentials: "same-origin", headers: {"x-csrf-token": csrf}, body});
    target.innerHTML = await response.text();
    if (window.htmx) window.htmx.process(target);
    return response.ok;
  }

  // ---- 1. calibration --------------------------------------------------------------------------------
  const calibrateButton = document.getElementById("calibrate-start");
  const calibrationResult = document.getElementById("calibration-result");
  function takeCalibration() {
    const now = document.getElementById("calibration-now");
    if (now) { live.dataset.calibration = now.dataset.calibration; live.dataset.latencyMs = now.dataset.latencyMs; }
  }
  let loopback = null;
  async function loopbackBuffer() {
    // The test signal at the context's own rate (no resampling on its way to the speaker).
    if (!loopback) {
      const response = await fetch(`/clients/${clientId}/timing/loopback.wav?rate=${ctx.sampleRate}`,
                                   {credentials: "same-origin"});
      loopback = await ctx.decodeAudioData(await response.arrayBuffer());
    }
    return loopback;
  }
  const SWEEP_LEAD_S = 0.3, SWEEP_S = 0.25;  // the test signal's first sweep (cadenza.timing.latency)
  let sweep = null;
  function sweepOf(signal) {
    if (!sweep) {
      const from = Math.round(SWEEP_LEAD_S * ctx.sampleRate), n = Math.round(SWEEP_S * ctx.sampleRate);
      sweep = ctx.createBuffer(1, n, ctx.sampleRate);
      sweep.getChannelData(0).set(signal.getChannelData(0).subarray(from, from + n));
    }
    return sweep;
  }
  calibrateButton.addEventListener("click", async () => {
    calibrateButton.disabled = true;
    try {
      await ensureMic();
      const buffer = await loopbackBuffer();
      calibrationResult.textContent = "Listening for the test sound…";
      const {playAt, capture} = await mic.recordPlayed(buffer, out, MAX_LATENCY_S);
      live.dataset.playedAt = playAt.toFixed(6);
      if (!capture) { calibrationResult.textContent = "The microphone gave no sound. Check its permission."; return; }
      await post(`/clients/${clientId}/timing/calibrations`,
                 {played_at_s: playAt.toFixed(6), device: document.getElementById("device").value}, capture,
                 calibrationResult);
      takeCalibration();
    } catch (e) {
      calibrationResult.textContent = `The calibration could not run: ${e.message || e}`;
    } finally {
      calibrateButton.disabled = false;
    }
  });

  // ---- touches and keys --------------------------------------------------------------------------------
  let events = null;  // {times: [], sides: []} while a block or a tap calibration listens
  const pad = document.getElementById("pad");
  function hit(event, side) {
    if (!events || !ctx) return;
    events.times.push(clockOf(event));
    events.sides.push(side);
    pad.classList.add("tapped");
    setTimeout(() => pad.classList.remove("tapped"), 80);
  }
  pad.addEventListener("pointerdown", (event) => {
    const box = pad.getBoundingClientRect();
    hit(event, event.clientX < box.left + box.width / 2 ? "L" : "R");
  });
  document.addEventListener("keydown", (event) => {
    if (event.repeat || !events) return;
    const side = {KeyF: "L", KeyJ: "R", Space: "R"}[event.code];
    if (side) { event.preventDefault(); hit(event, side); }
  });

  // Web MIDI: a drum pad's note-ons count as hits too (low notes left, the rest right), stamped like touches.
  let midiAsked = false;
  async function listenToMidi() {
    if (midiAsked || !navigator.requestMIDIAccess) return;
    midiAsked = true;
    try {
      const access = await navigator.requestMIDIAccess();
      const attach = (input) => {
        input.onmidimessage = (event) => {
          const [status, note, velocity] = event.data;
          if ((status & 0xf0) === 0x90 && velocity > 0) hit(event, note < 60 ? "L" : "R");
        };
      };
      access.inputs.forEach(attach);
      access.onstatechange = (event) => { if (event.port.type === "input") attach(event.port); };
    } catch (e) { /* no MIDI permission: the pad and the keys still work */ }
  }

  // ---- tap-to-sound offset ---------------------------------------------------------------------------------
  const tapStart = document.getElementById("tap-start");
  const tapFinish = document.getElementById("tap-finish");
  let tapFrom = 0;
  tapStart.addEventListener("click", async () => {
    if (!live.dataset.calibration) { calibrationResult.textContent = "Calibrate the loopback first."; return; }
    await ensureMic();
    tapFrom = ctx.currentTime;
    events = {times: [], sides: []};
    tapStart.hidden = true; tapFinish.hidden = false;
  });
  tapFinish.addEventListener("click", async () => {
    const taken = events; events = null;
    tapStart.hidden = false; tapFinish.hidden = true;
    await post(`/clients/${clientId}/timing/calibrations/${live.dataset.calibration}/taps`,
               {event_times_s: taken.times}, captureBetween(tapFrom, ctx.currentTime), calibrationResult);
    takeCalibration();
  });

  // ---- 2. a block ------------------------------------------------------------------------------------------
  const startButton = document.getElementById("block-start");
  const stopButton = document.getElementById("block-stop");
  const status = document.getElementById("block-status");
  const result = document.getElementById("block-result");
  let stopped = false;

  function click(accent) {
    // A short percussive click: 1 kHz (accent: 1.5 kHz, louder), 30 ms exponential decay.
    const rate = ctx.sampleRate, n = Math.round(0.03 * rate);
    const buffer = ctx.createBuffer(1, n, rate);
    const data = buffer.getChannelData(0);
    const f = accent ? 1500 : 1000, a = accent ? 0.9 : 0.5;
    for (let i = 0; i < n; i++) data[i] = a * Math.sin(2 * Math.PI * f * i / rate) * Math.exp(-i / (0.006 * rate));
    return buffer;
  }

  startButton.addEventListener("click", async () => {
    const option = document.getElementById("exercise").selectedOptions[0];
    const input = document.querySelector("input[name=input]:checked").value;
    const tempo = Number(option.dataset.tempo), beats = Number(option.dataset.beats);
    const meter = Number(option.dataset.meter), continuation = Number(option.dataset.continuation);
    const accents = (option.dataset.accents || "").split(",").filter((a) => a).map(Number);
    startButton.disabled = true;
    try {
      if (input === "microphone") await ensureMic(); else { await ensureAudio(); await listenToMidi(); }
      const period = 60 / tempo;
      // With the microphone, the block starts with the loopback test sound (REPP's markers): the server finds
      // it in this very capture, so a delay that changed since the calibration is not taken as the person's.
      const marker = input === "microphone" && document.getElementById("marker").checked ? await loopbackBuffer() : null;
      const fromS = ctx.currentTime;
      let t0 = fromS + 1.0, markerAt = null;
      if (marker) {
        markerAt = fromS + 0.2;
        live.dataset.markerAt = markerAt.toFixed(6);
        const source = ctx.createBufferSource();
        source.buffer = marker;
        source.connect(out);
        source.start(markerAt);
        t0 = markerAt + marker.duration + 0.5;
      }
      const sounds = {plain: click(false), accent: click(true)};
      const cue = [];
      for (let k = 0; k < beats; k++) {
        const t = t0 + k * period;
        const source = ctx.createBufferSource();
        source.buffer = accents.includes((k % meter) + 1) ? sounds.accent : sounds.plain;
        source.connect(out);
        source.start(t);
        cue.push(t);
      }
      let endS = t0 + (beats + continuation) * period + 0.3;
      let endMarkerAt = null, endSource = null;
      if (marker) {
        // The end marker: one sweep of the test signal after the block; where the server finds it shows whether
        // the recording kept time with the audio clock all through the block.
        endMarkerAt = endS;
        const source = ctx.createBufferSource();
        source.buffer = sweepOf(marker);
        source.connect(out);
        source.start(endMarkerAt);
        endSource = source;
        live.dataset.endMarkerAt = endMarkerAt.toFixed(6);
        endS = endMarkerAt + source.buffer.duration + MAX_LATENCY_S;
      }
      live.dataset.cueTimes = cue.map((t) => t.toFixed(6)).join(",");
      events = input === "touch" ? {times: [], sides: []} : null;
      stopped = false;
      stopButton.hidden = false;
      status.textContent = input === "touch" ? "Tap the pad (or F and J) with the beat." : "Play with the beat.";
      await waitUntil(endS, () => stopped);
      if (stopped && endSource) { try { endSource.stop(); } catch (e) { /* not started */ } endMarkerAt = null; }
      stopButton.hidden = true;
      status.textContent = "Measuring…";
      const fields = {cue_times_s: cue, calibration_id: live.dataset.calibration || "",
                      exercise_id: option.value, session_id: document.getElementById("session_id").value};
      if (markerAt !== null) fields.marker_at_s = markerAt.toFixed(6);
      if (endMarkerAt !== null) fields.end_marker_at_s = endMarkerAt.toFixed(6);
      let capture = null;
      if (input === "touch") {
        fields.event_times_s = events.times;
        if (option.dataset.bilateral === "yes") fields.event_sides = events.sides;
        events = null;
      } else {
        capture = captureBetween(fromS, ctx.currentTime);
      }
      const ok = await post(`/clients/${clientId}/timing/blocks`, fields, capture, result);
      status.textContent = ok ? "Done." : "The block could not be measured.";
      live.dataset.blocks = String(Number(live.dataset.blocks || 0) + 1);
    } catch (e) {
      status.textContent = `The block could not run: ${e.message || e}`;
    } finally {
      startButton.disabled = false;
    }
  });
  stopButton.addEventListener("click", () => { stopped = true; });
})();
