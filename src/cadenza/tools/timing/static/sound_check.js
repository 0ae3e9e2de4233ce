// The person checks their own phone's sound delay (/me/sound-check): the test sound is scheduled on the Web Audio
// clock within the listener's gain cap, the microphone is captured on the audio clock (microphone.js), and the
// recording goes to the server, which finds the sound and keeps the delay.
"use strict";
(function () {
  const section = document.getElementById("sound-check");
  if (!section) return;
  const start = document.getElementById("sound-start");
  const status = document.getElementById("sound-status");
  const now = document.getElementById("sound-now");
  const csrf = document.body.dataset.csrf;
  const cap = Math.max(0, Math.min(Number(section.dataset.cap), 1));
  const MAX_LATENCY_S = 1.5;  // the search window: Bluetooth outputs add up to about 0.65 s
  let ctx = null, out = null, mic = null;

  async function ensureMic() {
    if (!ctx) {
      ctx = new (window.AudioContext || window.webkitAudioContext)({latencyHint: "interactive"});
      out = ctx.createGain();
      out.gain.value = cap;
      out.connect(ctx.destination);
    }
    await ctx.resume();
    if (!mic) {
      mic = window.cadenzaMicrophone(ctx, 30);  // static/microphone.js
      await mic.open();
    }
  }

  start.addEventListener("click", async () => {
    start.disabled = true;
    status.textContent = "Getting ready…";
    try {
      await ensureMic();
      const response = await fetch(`/me/sound-check/test.wav?rate=${ctx.sampleRate}`, {credentials: "same-origin"});
      const buffer = await ctx.decodeAudioData(await response.arrayBuffer());
      status.textContent = "Listening for the test sound. Please keep quiet…";
      const {playAt, capture} = await mic.recordPlayed(buffer, out, MAX_LATENCY_S);
      if (!capture) { status.textContent = "The microphone gave no sound. Please allow the microphone."; return; }
      const body = new FormData();
      body.append("played_at_s", playAt.toFixed(6));
      body.append("capture", new Blob([capture.pcm.buffer], {type: "application/octet-stream"}), "capture.pcm");
      body.append("sampling_rate_hz", String(ctx.sampleRate));
      body.append("capture_start_s", capture.startS.toFixed(6));
      const answer = await fetch("/me/sound-check", {method: "POST", credentials: "same-origin",
                                                     headers: {"x-csrf-token": csrf}, body});
      now.innerHTML = await answer.text();
      status.textContent = answer.ok ? "Done." : "Not measured this time.";
    } catch (e) {
      status.textContent = `The check could not run: ${e.message || e}`;
    } finally {
      start.disabled = false;
    }
  });
})();
