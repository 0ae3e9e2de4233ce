// The person's app: one-tap ratings, playback through Web Audio within the listener's gain cap, and
// completions queued on the phone and sent exactly once (the server stores a client_uuid once).
"use strict";
(function () {
  const QUEUE_KEY = "cadenza.me.queue";
  const body = document.body;
  const csrf = body.dataset.csrf || "";
  const status = document.getElementById("sync-status");

  function say(text) { if (status) status.textContent = text; }

  function uuid4() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---- the offline queue ---------------------------------------------------------------------------
  function readQueue() {
    try { return JSON.parse(localStorage.getItem(QUEUE_KEY) || "[]"); } catch (e) { return []; }
  }
  function writeQueue(items) { localStorage.setItem(QUEUE_KEY, JSON.stringify(items)); }
  function enqueue(item) { const q = readQueue(); q.push(item); writeQueue(q); }

  let flushing = false;
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      let queue = readQueue();
      for (const item of queue.slice()) {
        let response;
        try {
          response = await fetch("/me/completions", {
            method: "POST", credentials: "same-origin",
            headers: {"content-type": "application/json", "x-csrf-token": item.csrf || csrf},
            body: JSON.stringify(item.payload),
          });
        } catch (e) {
          say("Saved on this phone. It will be sent when you are online.");
          return;  // offline: keep everything for later
        }
        if (response.status === 401) { say("Open the app with your PIN to send what you saved."); return; }
        queue = readQueue().filter((q) => q.payload.client_uuid !== item.payload.client_uuid);
        writeQueue(queue);
        if (response.ok) {
          let scores = {};
          try { scores = (await response.json()).scores || {}; } catch (e) { /* no body */ }
          document.dispatchEvent(new CustomEvent("cadenza:stored", {detail: {task_id: item.payload.task_id, scores: scores}}));
          if (scores.summary) say(`Sent. ${scores.summary}`);
          else if (scores.attempt_found === false) say("Sent. We could not hear a try in the recording; you can record again next time.");
          else if (scores.attempt_found) say(`Sent. ${Math.round(scores.timing_match_pct)} % of the parts were on the taps. Well done!`);
          else say("Sent to your therapist. Well done!");
        } else {
          let detail = "";
          try { detail = (await response.json()).detail || ""; } catch (e) { /* not JSON */ }
          say(`This could not be sent: ${typeof detail === "string" ? detail : "please tell your therapist"}.`);
        }
      }
      document.dispatchEvent(new CustomEvent("cadenza:flushed", {detail: {left: readQueue().length}}));
    } finally {
      flushing = false;
    }
  }
  window.addEventListener("online", flush);

  // ---- offline copies ---------------------------------------------------------------------------------
  function keep(urls) {
    if (!("serviceWorker" in navigator) || !urls.length) return;
    navigator.serviceWorker.ready.then((reg) => { if (reg.active) reg.active.postMessage({keep: urls}); });
  }
  if ("serviceWorker" in navigator) {
    navigator.serviceWorker.register("/me/sw.js", {scope: "/me"}).catch(() => undefined);
  }
  const links = Array.from(document.querySelectorAll("a.task-link")).map((a) => a.getAttribute("href"));
  keep(links);

  // ---- ratings ----------------------------------------------------------------------------------------
  const ratings = {before: {}, after: {}};
  document.querySelectorAll("fieldset.scale").forEach((set) => {
    set.addEventListener("click", (event) => {
      const button = event.target.closest("button.scale-button");
      if (!button) return;
      set.querySelectorAll("button.scale-button").forEach((b) => b.setAttribute("aria-pressed", "false"));
      button.setAttribute("aria-pressed", "true");
      ratings[set.dataset.phase][set.dataset.code] = Number(button.dataset.value);
    });
  });

  // ---- passkeys instead of the PIN ---------------------------------------------------------------------
  function canPasskey() {
    return window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON && window.isSecureContext;
  }
  async function problem(response) {
    try { const d = (await response.json()).detail; return typeof d === "string" ? d : "please try again"; }
    catch (e) { return "please try again"; }
  }
  async function passkeyCeremony(button) {
    const join = button.dataset.token !== undefined;
    const token = join ? button.dataset.token : "";
    const sendCsrf = join ? document.querySelector("input[name=csrf_token]").value : csrf;
    const base = join ? `/me/join/${token}/passkey` : "/me/unlock/passkey";
    if (!canPasskey()) { say("This phone cannot use a passkey here. Please use a PIN."); return; }
    button.disabled = true;
    try {
      const start = await fetch(`${base}/options`, {method: "POST", credentials: "same-origin",
                                                    headers: {"x-csrf-token": sendCsrf}});
      if (!start.ok) { say(`The passkey could not start: ${await problem(start)}.`); return; }
      const options = await start.json();
      const credential = join
        ? await navigator.credentials.create({publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options)})
        : await navigator.credentials.get({publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options)});
      const label = document.getElementById("label");
      const finish = await fetch(base, {method: "POST", credentials: "same-origin",
        headers: {"content-type": "application/json", "x-csrf-token": sendCsrf},
        body: JSON.stringify({credential: credential.toJSON(), label: label ? label.value : ""})});
      if (!finish.ok) { say(`The passkey did not work: ${await problem(finish)}.`); return; }
      window.location.assign((await finish.json()).next);
    } catch (e) {
      say("The passkey was cancelled or is not available. You can try again or use a PIN.");
    } finally {
      button.disabled = false;
    }
  }
  document.querySelectorAll("button.passkey").forEach((button) => {
    if (!canPasskey()) { button.hidden = true; return; }
    button.addEventListener("click", () => passkeyCeremony(button));
  });

  // ---- tasks another tool measures (tapping, singing): its script hands the result over ----------------
  document.addEventListener("cadenza:complete", (event) => {
    const d = event.detail || {};
    enqueue({payload: {
      client_uuid: uuid4(), task_id: Number(d.task_id), completed_at: new Date().toISOString(),
      played_s: Math.round((Number(d.played_s) || 0) * 10) / 10, max_gain: Number(d.max_gain) || 0,
      before: ratings.before, after: ratings.after, result: d.result,
    }, csrf: csrf});
    say("Saved on this phone.");
    flush();
  });

  // ---- the player -------------------------------------------------------------------------------------
  const task = document.getElementById("task");
  if (!task) { flush(); return; }
  const taskCap = Number(task.dataset.cap);
  const autoplay = task.dataset.autoplay === "yes";
  let tracks = Array.from(document.querySelectorAll("#tracks li[data-src]"));
  const playButton = document.getElementById("play");
  const pauseButton = document.getElementById("pause");
  const volume = document.getElementById("volume");
  const played = document.getElementById("played");
  const nowPlaying = document.getElementById("now-playing");
  keep(tracks.map((li) => li.dataset.src).concat(task.dataset.cue ? [task.dataset.cue] : []));

  let ctx = null, gainNode = null, source = null, index = 0;
  let playedS = 0, lastTime = null, maxGain = 0, timer = null, stopAtS = null;

  const rendered = task.dataset.kind === "ras_walk" || task.dataset.kind === "mit_practice";
  function currentCap() {
    if (rendered) return taskCap;  // the cue or the intoned model is rendered within the cap
    const li = tracks[index];
    return li ? Math.min(Number(li.dataset.cap), taskCap) : 0;
  }
  function applyGain() {
    if (!gainNode) return;
    const gain = Math.max(0, Math.min(Number(volume.value), 1)) * currentCap();
    gainNode.gain.setValueAtTime(gain, ctx.currentTime);
    task.dataset.gain = gain.toFixed(6);
    if (source) maxGain = Math.max(maxGain, gain);
  }
  volume.addEventListener("input", applyGain);

  function tick() {
    if (!ctx || !source) return;
    const now = ctx.currentTime;
    if (lastTime !== null) playedS += Math.max(0, now - lastTime);
    lastTime = now;
    const s = Math.floor(playedS);
    played.textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
    played.dataset.seconds = playedS.toFixed(2);
    task.dataset.audioTime = now.toFixed(3);
    if (stopAtS !== null && playedS >= stopAtS) stop("Time is up. Well done!");
  }

  async function buffer(url) {
    const response = await fetch(url, {credentials: "same-origin"});
    if (!response.ok) throw new Error(`the music could not be loaded (${response.status})`);
    return ctx.decodeAudioData(await response.arrayBuffer());
  }

  function markTrack() {
    tracks.forEach((li, i) => li.classList.toggle("playing", i === index));
    drawCurve();
  }

  async function start() {
    if (!ctx) {
      ctx = new AudioContext();
      gainNode = ctx.createGain();
      gainNode.connect(ctx.destination);
    }
    await ctx.resume();
    try {
      const url = rendered ? task.dataset.cue : (tracks[index] && tracks[index].dataset.src);
      if (!url) { say("There is no music for this task right now."); return; }
      const audio = await buffer(url);
      source = ctx.createBufferSource();
      source.buffer = audio;
      if (task.dataset.kind === "ras_walk") {
        source.loop = true;  // one loop of whole beats, repeated on the audio clock
        stopAtS = Number(task.dataset.minutes) * 60;
      }
      source.connect(gainNode);
      source.onended = () => { if (source && source.buffer === audio) next(); };
      applyGain();
      lastTime = ctx.currentTime;
      source.start();
      const name = tracks[index] && tracks[index].querySelector(".track-name");
      nowPlaying.textContent = name ? `· ${name.textContent.trim()}` : "";
      markTrack();
      playButton.hidden = true; pauseButton.hidden = false;
      if (!timer) timer = setInterval(tick, 250);
    } catch (e) {
      say(String(e.message || e));
    }
  }

  function stop(message) {
    tick();
    if (source) { const s = source; source = null; try { s.stop(); } catch (e) { /* already stopped */ } }
    lastTime = null;
    playButton.hidden = false; pauseButton.hidden = true;
    if (message) say(message);
  }

  function next() {
    tick();
    source = null; lastTime = null;
    if (!rendered && index + 1 < tracks.length) {
      index += 1;
      markTrack();
      if (autoplay) { start(); return; }
      say("Press Play for the next song.");  // never starts on its own for this listener
    }
    playButton.hidden = false; pauseButton.hidden = true;
  }

  playButton.addEventListener("click", start);
  const skipButton = document.getElementById("skip");
  if (skipButton) skipButton.addEventListener("click", () => {
    const wasPlaying = source !== null;
    stop("");
    if (index + 1 < tracks.length) { index += 1; markTrack(); if (wasPlaying) start(); }
    else say("That was the last song.");
  });
  document.querySelectorAll("button.block-track").forEach((button) => {
    button.addEventListener("click", async () => {
      const li = button.closest("li");
      const response = await fetch(button.dataset.block, {method: "POST", credentials: "same-origin",
                                                          headers: {"x-csrf-token": csrf}});
      if (!response.ok) { say("This song could not be blocked; please try again."); return; }
      const i = tracks.indexOf(li);
      if (i === index && source) stop("");
      tracks = tracks.filter((t) => t !== li);
      li.remove();
      if (i < index) index -= 1;
      index = Math.min(index, Math.max(tracks.length - 1, 0));
      markTrack();
      say("That song will not be played again.");
    });
  });
  pauseButton.addEventListener("click", () => stop(""));

  // The playlist's tempo and energy, track by track, with the current one marked.
  function drawCurve() {
    const svg = document.getElementById("curve");
    if (!svg || !tracks.length) return;
    const ns = "http://www.w3.org/2000/svg";
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    const x = (i) => tracks.length === 1 ? 150 : 10 + (280 * i) / (tracks.length - 1);
    const series = [["tempo", 40, 180, "curve-tempo"], ["energy", 0, 1, "curve-energy"]];
    series.forEach(([key, low, high, cls]) => {
      const pts = tracks.map((li, i) => [x(i), li.dataset[key]]).filter((p) => p[1] !== "")
        .map(([px, v]) => `${px.toFixed(1)},${(55 - 50 * (Math.min(Math.max(Number(v), low), high) - low) / (high - low)).toFixed(1)}`);
      if (!pts.length) return;
      const line = document.createElementNS(ns, "polyline");
      line.setAttribute("points", pts.join(" "));
      line.setAttribute("class", cls);
      svg.appendChild(line);
    });
    const mark = document.createElementNS(ns, "line");
    mark.setAttribute("x1", x(index)); mark.setAttribute("x2", x(index));
    mark.setAttribute("y1", 0); mark.setAttribute("y2", 60);
    mark.setAttribute("class", "curve-now");
    svg.appendChild(mark);
  }
  drawCurve();

  // ---- MIT practice: the person's try, recorded on the audio clock and sent as a 16 kHz WAV ---------------
  let attemptB64 = null;
  const recordButton = document.getElementById("record");
  if (recordButton) {
    const stopButton = document.getElementById("record-stop");
    const recordStatus = document.getElementById("record-status");
    let recording = null;
    const MAX_RECORD_S = 8;
    async function startRecording() {
      if (!ctx) { ctx = new AudioContext(); gainNode = ctx.createGain(); gainNode.connect(ctx.destination); }
      await ctx.resume();
      let stream;
      try {
        stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false,
                                                                    autoGainControl: false}});
      } catch (e) { recordStatus.textContent = "The microphone is not available. Check the phone's settings."; return; }
      await ctx.audioWorklet.addModule("/me/recorder.js");
      const input = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, "cadenza-recorder");
      const chunks = [];
      node.port.onmessage = (event) => { chunks.push(event.data); };
      input.connect(node);
      recording = {stream, input, node, chunks, started: ctx.currentTime};
      recordButton.hidden = true; stopButton.hidden = false;
      recordStatus.textContent = "Recording… sing or say it now.";
      recording.timer = setTimeout(stopRecording, MAX_RECORD_S * 1000);
    }
    function stopRecording() {
      if (!recording) return;
      const {stream, input, node, chunks, timer} = recording;
      clearTimeout(timer);
      input.disconnect(); node.port.onmessage = null;
      stream.getTracks().forEach((t) => t.stop());
      recording = null;
      attemptB64 = wavBase64(chunks, ctx.sampleRate, 16000);
      task.dataset.attemptBytes = String(Math.floor(attemptB64.length * 3 / 4));
      recordButton.hidden = false; recordButton.textContent = "Record again"; stopButton.hidden = true;
      recordStatus.textContent = "Recorded. Press \"I have done it\" to send it, or record again.";
    }
    recordButton.addEventListener("click", startRecording);
    stopButton.addEventListener("click", stopRecording);
  }

  function wavBase64(chunks, rateIn, rateOut) {
    const total = chunks.reduce((n, c) => n + c.length, 0);
    const all = new Float32Array(total);
    let at = 0;
    for (const c of chunks) { all.set(c, at); at += c.length; }
    const step = rateIn / rateOut;  // average each output sample's span (a simple anti-alias low-pass)
    const n = Math.floor(total / step);
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const a = Math.floor(i * step), b = Math.max(a + 1, Math.floor((i + 1) * step));
      let sum = 0;
      for (let k = a; k < b; k++) sum += all[k];
      const v = Math.max(-1, Math.min(1, sum / (b - a)));
      pcm[i] = v < 0 ? v * 0x8000 : v * 0x7fff;
    }
    const bytes = new Uint8Array(44 + pcm.length * 2);
    const view = new DataView(bytes.buffer);
    const text = (o, s) => { for (let i = 0; i < s.length; i++) bytes[o + i] = s.charCodeAt(i); };
    text(0, "RIFF"); view.setUint32(4, 36 + pcm.length * 2, true); text(8, "WAVE"); text(12, "fmt ");
    view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
    view.setUint32(24, rateOut, true); view.setUint32(28, rateOut * 2, true); view.setUint16(32, 2, true);
    view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, pcm.length * 2, true);
    new Int16Array(bytes.buffer, 44).set(pcm);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }

  document.getElementById("done").addEventListener("click", () => {
    stop("");
    const payload = {
      client_uuid: uuid4(), task_id: Number(task.dataset.task), completed_at: new Date().toISOString(),
      played_s: Math.round(playedS * 10) / 10, max_gain: Math.min(maxGain, taskCap),
      before: ratings.before, after: ratings.after,
    };
    if (attemptB64) payload.attempt_wav_b64 = attemptB64;
    enqueue({payload: payload, csrf: csrf});
    say("Saved on this phone.");
    document.getElementById("done").disabled = true;
    flush();
  });

  flush();
})();
