// The microphone on the audio clock, shared by the rhythm page (live.js) and the person's sound check
// (sound_check.js): opened once through the AudioWorklet in /timing/capture.js, which hands over every block with the
// audio-clock frame of its first sample; the last `keepS` seconds are kept, and any stretch between two audio-clock
// times comes back as 16-bit PCM with the time of its first sample.
"use strict";
window.cadenzaMicrophone = function (ctx, keepS) {
  let chunks = [], opened = null;

  async function open() {
    if (opened) return opened;
    const stream = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false,
                                                                      autoGainControl: false}});
    await ctx.audioWorklet.addModule("/timing/capture.js");
    const source = ctx.createMediaStreamSource(stream);
    const node = new AudioWorkletNode(ctx, "cadenza-capture");
    node.port.onmessage = (event) => {
      chunks.push(event.data);
      const oldest = event.data.frame - keepS * ctx.sampleRate;
      while (chunks.length && chunks[0].frame < oldest) chunks.shift();
    };
    source.connect(node);
    opened = {stream, source, node};
    return opened;
  }

  // The microphone between two audio-clock times, as 16-bit PCM, with the time of its first sample (or null).
  function between(fromS, toS) {
    const rate = ctx.sampleRate;
    const first = chunks.find((c) => c.frame + c.samples.length > fromS * rate);
    if (!first) return null;
    const start = first.frame;
    const end = Math.floor(toS * rate);
    const pcm = new Int16Array(Math.max(0, end - start));
    for (const c of chunks) {
      if (c.frame + c.samples.length <= start || c.frame >= end) continue;
      for (let i = 0; i < c.samples.length; i++) {
        const at = c.frame - start + i;
        if (at < 0 || at >= pcm.length) continue;
        const v = Math.max(-1, Math.min(1, c.samples[i]));
        pcm[at] = v < 0 ? v * 0x8000 : v * 0x7fff;
      }
    }
    return {pcm, startS: start / rate};
  }

  // Play `buffer` (the loopback test signal) through `out` 0.2 s from now on the audio clock and keep listening
  // until `maxLatencyS` after it ends: {playAt, capture} (capture null when the microphone gave nothing).
  async function recordPlayed(buffer, out, maxLatencyS) {
    const fromS = ctx.currentTime;
    const playAt = fromS + 0.2;
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(out);
    source.start(playAt);
    const until = playAt + buffer.duration + maxLatencyS;
    await new Promise((resolve) => {
      const check = () => (ctx.currentTime >= until ? resolve() : setTimeout(check, 50));
      check();
    });
    return {playAt, capture: between(fromS, ctx.currentTime)};
  }

  return {open, between, recordPlayed};
};
