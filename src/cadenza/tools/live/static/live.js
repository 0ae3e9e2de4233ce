// Live cueing while walking: the phone's motion samples go to the server in 50 ms batches over a
// WebSocket; the server answers with the next beats' times on this page's clock (performance.now(),
// the clock of DeviceMotion's timeStamp), and each beat is scheduled on the Web Audio clock.
// If the connection drops, the cue goes on at the last tempo; the page reconnects and re-sends every
// batch the server has not acknowledged (the server takes each sequence number once).
// With a song chosen (data-music), the server renders it once at the goal tempo, within the listener's level
// cap, and says where its beats are; each beat then starts the next beat-long segment of the song instead of
// a click. At the goal tempo the segments join without a seam; when the next beat comes early the segment is
// cut there (with a 3 ms fade), when it comes late a short silence is left. Clicks remain the cue whenever
// the song is not there (none chosen, not yet loaded, not decodable) and during a freeze (accented clicks).
// One connection owns a walk: the newest. When the server closes this page's socket with SUPERSEDED (another tab
// or phone opened the walk since), the page keeps its fixed-tempo cue and does not reconnect.
"use strict";
(() => {
  const root = document.getElementById("live-walk");
  if (!root) return;
  const BATCH_MS = 50;
  const SUPERSEDED = 4001; // the server's close code: a newer connection streams this walk
  const KEEP_BATCHES = 12000; // ~10 min of batches kept while offline; older ones are dropped first
  const lookaheadMs = Number(root.dataset.lookaheadMs || "2000");
  const status = document.getElementById("live-status");
  const startButton = document.getElementById("live-start");
  const stopButton = document.getElementById("live-stop");
  const summary = document.getElementById("live-summary");
  // Read-only diagnostics (the browser test reads them; nothing else does).
  const state = window.cadenzaLive = {
    gainCap: null, scheduled: [], steps: [], stepDelaysMs: [], resentStepDelaysMs: [], acks: 0, sent: 0, unacked: 0, beatsReceived: 0, beatsLate: 0, fixedBeats: 0, connected: false,
    reconnects: 0, tempoBpm: null, frozen: false, errors: [], ended: false, superseded: false, closeReason: null,
    music: root.dataset.music ? "loading" : "none", musicError: null, musicBeats: 0, segments: [],
  };
  let ctx = null, out = null, musicOut = null, music = null, ws = null, seq = 0, pending = [], queue = [];
  const resent = new Set(); // batches sent again after a reconnect: their steps' delay includes the outage
  let lastBeatMs = -Infinity, lastServerBeatAt = -Infinity, retryMs = 500, lastSampleMs = -Infinity, timer = null;

  function say(text) { if (status) status.textContent = text; }
  function describe() {
    const parts = [`Steps: ${state.steps.length}`];
    if (state.tempoBpm) parts.push(`cue ${Math.round(state.tempoBpm)} beats/min`);
    if (state.frozen) parts.push("take a step to the beat");
    if (state.music === "ready") parts.push("your song");
    else if (state.music === "clicks") parts.push("clicks (the song could not be loaded)");
    if (state.superseded) parts.push("this walk is now streamed by another connection (another tab or phone): the cue goes on here at a steady tempo");
    else parts.push(state.connected ? "connected" : "offline: the cue goes on at a steady tempo");
    say(parts.join(" · "));
  }

  function onMotion(event) {
    const a = event.accelerationIncludingGravity;
    if (!a || a.x === null || a.y === null || a.z === null) return;
    const t = event.timeStamp;
    if (!(t > lastSampleMs)) return; // the server needs strictly increasing times
    lastSampleMs = t;
    pending.push([t, a.x, a.y, a.z]);
  }

  function send(batch) {
    if (ws && ws.readyState === WebSocket.OPEN && !state.superseded) ws.send(JSON.stringify(batch));
  }

  function flush() {
    if (ctx) sampleClocks();
    if (pending.length) {
      const batch = { seq: seq++, t_ms: pending.map((p) => p[0]),
        acc: [pending.map((p) => p[1]), pending.map((p) => p[2]), pending.map((p) => p[3])] };
      pending = [];
      queue.push(batch);
      if (queue.length > KEEP_BATCHES) queue.shift();
      state.sent += 1;
      state.unacked = queue.length;
      send(batch);
    }
    keepCueGoing();
  }

  // The beat's time on the audio clock. Each output timestamp pairs the two clocks, but a single pair wobbles by
  // the output buffer (~10 ms): the median of the last 41 pairs (2 s) is steady. The offset applied follows that
  // median by at most 0.01 ms per 50 ms (0.2 ms/s, above any clock drift), so a glitch in the audio device moves
  // the beats gradually instead of putting one beat out of time.
  const offsets = [];
  let applied = null;
  function sampleClocks() {
    const ts = ctx.getOutputTimestamp ? ctx.getOutputTimestamp() : null;
    const offset = ts && ts.performanceTime > 0 ? ts.contextTime - ts.performanceTime / 1000
      : ctx.currentTime - performance.now() / 1000;
    offsets.push(offset);
    if (offsets.length > 41) offsets.shift();
    const sorted = offsets.slice().sort((a, b) => a - b);
    const median = sorted[Math.floor(sorted.length / 2)];
    applied = applied === null ? median : applied + Math.max(-1e-5, Math.min(1e-5, median - applied));
  }
  function audioTime(ms) {
    if (applied === null) sampleClocks();
    return ms / 1000 + applied;
  }

  // The song, fetched once the audio context exists: the WAV and its beats (seconds into it).
  async function loadMusic() {
    const url = root.dataset.music;
    if (!url) return;
    try {
      const response = await fetch(url, { credentials: "same-origin" });
      if (!response.ok) throw new Error(`the song could not be prepared (HTTP ${response.status})`);
      const beats = (response.headers.get("X-Cadenza-Beat-Times-S") || "").split(",").map(Number);
      if (beats.length < 2 || !beats.every((b, i) => isFinite(b) && (i === 0 || b > beats[i - 1]))) {
        throw new Error("the song came without its beats");
      }
      const buffer = await ctx.decodeAudioData(await response.arrayBuffer());
      if (beats[beats.length - 1] > buffer.duration + 0.001) throw new Error("the song is shorter than its beats");
      music = { buffer, beats, next: 0, last: null };
      state.musicBeats = beats.length;
      state.music = "ready";
    } catch (e) {
      state.music = "clicks";
      state.musicError = String(e && e.message ? e.message : e);
    }
  }

  // One beat of the song from `when` (audio clock): the segment after the last one played, looping.
  function segment(ms, when) {
    const beats = music.beats;
    const j = music.next % (beats.length - 1);
    music.next += 1;
    const offset = beats[j], natural = beats[j + 1] - beats[j];
    const last = music.last;
    if (last && last.end > when) { // the beat came early: cut the previous segment there
      last.gain.gain.setValueAtTime(1, Math.max(last.start, when - 0.003));
      last.gain.gain.linearRampToValueAtTime(0, when);
      last.source.stop(when);
      last.record.durationS = when - last.start;
    }
    const source = ctx.createBufferSource(), gain = ctx.createGain();
    source.buffer = music.buffer;
    source.connect(gain).connect(musicOut);
    source.start(when, offset, natural);
    const record = { beatMs: ms, audioS: when, offsetS: offset, durationS: natural, segment: j };
    state.segments.push(record);
    music.last = { source, gain, start: when, end: when + natural, record };
  }

  function click(ms) {
    const when = audioTime(ms);
    if (when < ctx.currentTime) return false;
    if (music && !state.frozen) {
      segment(ms, when);
      state.scheduled.push({ beatMs: ms, audioS: when });
      lastBeatMs = ms;
      return true;
    }
    if (music && music.last && music.last.end > when) { // a freeze began: the song gives way to the clicks
      music.last.source.stop(when);
      music.last.record.durationS = when - music.last.start;
      music.last = null;
    }
    const osc = ctx.createOscillator(), gain = ctx.createGain();
    osc.frequency.value = state.frozen ? 1500 : 1000;
    gain.gain.setValueAtTime(0, when);
    gain.gain.linearRampToValueAtTime(state.frozen ? 1 : 0.7, when + 0.002); // the accent is the capped level
    gain.gain.exponentialRampToValueAtTime(0.001, when + 0.04);
    osc.connect(gain).connect(out);
    osc.start(when);
    osc.stop(when + 0.05);
    state.scheduled.push({ beatMs: ms, audioS: when });
    lastBeatMs = ms;
    return true;
  }

  function periodMs() { return state.tempoBpm ? 60000 / state.tempoBpm : null; }

  // Offline or quiet server: go on at the last tempo so the person is never left without a cue.
  function keepCueGoing() {
    const period = periodMs();
    const now = performance.now();
    const serverQuiet = !state.connected || now - lastServerBeatAt > 1500;
    if (!period || !isFinite(lastBeatMs) || !serverQuiet || state.ended) return;
    while (lastBeatMs < now + 1000) {
      const next = Math.max(lastBeatMs + period, now + 20);
      if (click(next)) state.fixedBeats += 1; else break;
    }
  }

  function onReply(event) {
    let msg;
    try { msg = JSON.parse(event.data); } catch (e) { return; }
    const arrived = performance.now();
    if (msg.error) state.errors.push(msg.error); // an acknowledged refusal is not sent again
    if (msg.closed) {
      state.ended = true;
      clearInterval(timer);
      window.removeEventListener("devicemotion", onMotion);
      const s = msg.summary || {};
      if (summary) {
        summary.hidden = false;
        summary.textContent = `Walk saved: ${s.n_steps || 0} steps` +
          (s.cadence_spm ? `, ${Math.round(s.cadence_spm)} steps/min` : "") +
          (s.resultant_length != null ? `, in time with the beat R = ${s.resultant_length.toFixed(2)}` : "") +
          `, ${s.freeze_count || 0} freezes.`;
      }
      say("Walk ended.");
      return;
    }
    if (typeof msg.ack === "number") {
      state.acks += 1;
      while (queue.length && queue[0].seq <= msg.ack) queue.shift();
      state.unacked = queue.length;
    }
    const delays = resent.has(msg.ack) ? state.resentStepDelaysMs : state.stepDelaysMs;
    for (const step of msg.steps_ms || []) {
      state.steps.push(step);
      delays.push(arrived - (step + lookaheadMs));
    }
    if (msg.tempo_bpm) state.tempoBpm = msg.tempo_bpm;
    state.frozen = Boolean(msg.frozen);
    const period = periodMs() || 500;
    for (const beat of msg.beats_ms || []) {
      state.beatsReceived += 1;
      // A beat the fixed-tempo cue already covered is not played twice.
      if (beat > lastBeatMs + 0.5 * period && !click(beat)) state.beatsLate += 1;
    }
    if ((msg.beats_ms || []).length) lastServerBeatAt = arrived;
    describe();
  }

  function connect() {
    const url = new URL(root.dataset.ws, window.location.href);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    const socket = ws = new WebSocket(url);
    ws.onopen = () => {
      state.connected = true;
      retryMs = 500;
      // Whatever was not acknowledged, in order, coalesced into batches of up to 1500 samples: the server then
      // catches up in a few detector runs instead of one per 50 ms, and the live batches do not queue behind.
      let merged = null;
      for (const batch of queue) {
        if (merged && merged.t_ms.length + batch.t_ms.length > 1500) { resent.add(merged.seq); send(merged); merged = null; }
        if (!merged) merged = { seq: batch.seq, t_ms: [], acc: [[], [], []] };
        merged.seq = batch.seq;
        merged.t_ms.push(...batch.t_ms);
        for (let i = 0; i < 3; i += 1) merged.acc[i].push(...batch.acc[i]);
      }
      if (merged) { resent.add(merged.seq); send(merged); }
      describe();
    };
    ws.onmessage = onReply;
    ws.onclose = (event) => {
      if (socket !== ws) return; // an older socket of this page, closed after the page reconnected: nothing to do
      state.connected = false;
      if (event.code === SUPERSEDED) { // another connection owns the walk now: cue on alone, never fight it
        state.superseded = true;
        state.closeReason = event.reason;
      }
      describe();
      if (state.ended || state.superseded) return;
      state.reconnects += 1;
      setTimeout(() => { if (!ws || ws.readyState === WebSocket.CLOSED) connect(); }, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  }

  async function start() {
    startButton.disabled = true;
    // iOS asks the person before a page may read the motion sensors, and only from a tap.
    if (typeof DeviceMotionEvent !== "undefined" && typeof DeviceMotionEvent.requestPermission === "function") {
      let answer = "denied";
      try { answer = await DeviceMotionEvent.requestPermission(); } catch (e) { answer = "denied"; }
      if (answer !== "granted") {
        say("Motion access was not allowed. Allow it in the browser's settings for this site, then start again.");
        startButton.disabled = false;
        return;
      }
    }
    ctx = new AudioContext({ latencyHint: "interactive" });
    await ctx.resume();
    out = ctx.createGain();
    // The listener's level cap (hearing safety: the server measured the loudest click at the fastest tempo).
    out.gain.value = Math.min(1, Math.max(0, Number(root.dataset.gainCap || "0")));
    state.gainCap = out.gain.value;
    out.connect(ctx.destination);
    musicOut = ctx.createGain(); // the song was brought within the listener's cap by the server
    musicOut.connect(ctx.destination);
    loadMusic();
    window.addEventListener("devicemotion", onMotion);
    timer = setInterval(flush, BATCH_MS);
    stopButton.disabled = false;
    connect();
    say("Walk when you are ready: the beat starts after your first steps.");
  }

  function stop() {
    stopButton.disabled = true;
    flush();
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: "end" }));
  }

  // The browser knows it lost the network before TCP does: drop the socket now and cue on alone; retry at once
  // when the network is back.
  // The page counts itself offline at once: closing a socket whose network is gone may wait for a handshake that
  // cannot come, and the fixed-tempo cue must not wait for it.
  window.addEventListener("offline", () => {
    if (!ws || state.ended) return;
    state.connected = false;
    describe();
    ws.close();
  });
  window.addEventListener("online", () => {
    retryMs = 500;
    if (ws && ws.readyState === WebSocket.CLOSED && !state.ended && !state.superseded && timer !== null) connect();
  });

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", stop);
})();
