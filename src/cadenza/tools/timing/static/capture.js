// An AudioWorklet that hands the microphone's samples (mono, the context's rate) to the page, block by block,
// each with the audio-clock frame of its first sample, so the page can place every sample on the audio clock.
"use strict";
class CadenzaCapture extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length) this.port.postMessage({frame: currentFrame, samples: input[0].slice(0)});
    return true;
  }
}
registerProcessor("cadenza-capture", CadenzaCapture);
