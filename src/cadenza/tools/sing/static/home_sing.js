// Singing as a home task on the person's phone (the singing tool's part of /me/tasks/<id>).
// "Listen" plays the notes on the Web Audio clock within the listener's gain cap; "Sing now" records the microphone
// for the task's time (ended on the audio clock) and hands 16-bit PCM to the home programme's offline queue
// ("cadenza:complete", app.js). The server scores it; the recording is not kept.
"use strict";
(function () {
  const section = document.getElementById("singing");
  const task = document.getElementById("measured-task");
  if (!section || !task) return;
  const listen = document.getElementById("sing-listen");
  const start = document.getElementById("sing-start");
  const status = document.getElementById("sing-status");
  const resultText = document.getElementById("sing-result");
  const done = document.getElementById("done");
  const notes = section.dataset.notes.split(" ").map(Number);
  const noteS = Number(section.dataset.noteS);
  const singS = Number(section.dataset.singS);
  const cap = Math.max(0, Math.min(Number(section.dataset.cap), 1));
  const RATE = 16000;

  let ctx = null, playedS = 0, result = null;
  function context() {
    if (!ctx) ctx = new (window.AudioContext || window.webkitAudioContext)();
    return ctx.resume().then(() => ctx);
  }

  listen.addEventListener("click", async () => {
    const c = await context();
    const at = c.currentTime + 0.2;
    notes.forEach((midi, i) => {
      const osc = c.createOscillator(), gain = c.createGain();
      osc.type = "triangle";
      osc.frequency.value = 440 * Math.pow(2, (midi - 69) / 12);
      const t0 = at + i * noteS, t1 = t0 + noteS;
      gain.gain.setValueAtTime(0, t0);
      gain.gain.linearRampToValueAtTime(cap, t0 + 0.02);
      gain.gain.setValueAtTime(cap, t1 - 0.02);
      gain.gain.linearRampToValueAtTime(0, t1);
      osc.connect(gain).connect(c.destination);
      osc.start(t0);
      osc.stop(t1);
    });
    playedS += notes.length * noteS;
  });

  function pcmBase64(chunks, rateIn) {
    const all = new Float32Array(chunks.reduce((n, c) => n + c.length, 0));
    let o = 0;
    for (const c of chunks) { all.set(c, o); o += c.length; }
    const step = rateIn / RATE, n = Math.floor(all.length / step);
    const pcm = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      const a = Math.floor(i * step), b = Math.max(a + 1, Math.floor((i + 1) * step));
      let sum = 0;
      for (let k = a; k < b; k++) sum += all[k];
      const v = Math.max(-1, Math.min(1, sum / (b - a)));
      pcm[i] = v < 0 ? v * 0x8000 : v * 0x7fff;
    }
    const bytes = new Uint8Array(pcm.buffer);
    let binary = "";
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    return btoa(binary);
  }

  start.addEventListener("click", async () => {
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false,
                                                                  autoGainControl: false}});
    } catch (e) {
      status.textContent = "The microphone could not start. Allow it for this app and try again.";
      return;
    }
    const c = await context();
    const source = c.createMediaStreamSource(stream);
    const taker = c.createScriptProcessor(4096, 1, 1);
    const silent = c.createGain();
    silent.gain.value = 0;
    const chunks = [];
    const endAt = c.currentTime + singS;
    start.disabled = true;
    listen.disabled = true;
    done.disabled = true;
    status.textContent = `Sing now. ${Math.round(singS)} seconds.`;
    taker.onaudioprocess = (event) => {
      if (c.currentTime > endAt) return;
      chunks.push(new Float32Array(event.inputBuffer.getChannelData(0)));
    };
    source.connect(taker).connect(silent).connect(c.destination);
    const check = () => {
      if (c.currentTime < endAt) { setTimeout(check, 100); return; }
      taker.disconnect();
      source.disconnect();
      stream.getTracks().forEach((t) => t.stop());
      result = {pcm_b64: pcmBase64(chunks, c.sampleRate), sampling_rate_hz: RATE};
      status.textContent = "Done. Press \"Send my result\" to see how you did.";
      start.disabled = false;
      listen.disabled = false;
      done.disabled = false;
    };
    check();
  });

  done.addEventListener("click", () => {
    if (!result) return;
    done.disabled = true;
    document.dispatchEvent(new CustomEvent("cadenza:complete", {detail: {
      task_id: Number(task.dataset.task), played_s: playedS, max_gain: playedS > 0 ? cap : 0, result: result}}));
    result = null;
  });

  document.addEventListener("cadenza:stored", (event) => {
    const d = event.detail || {};
    if (d.task_id === Number(task.dataset.task) && d.scores && d.scores.summary) resultText.textContent = d.scores.summary;
  });
})();
