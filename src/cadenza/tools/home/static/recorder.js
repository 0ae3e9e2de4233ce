// An AudioWorklet that hands the microphone's samples (mono, the context's rate) to the page, block by block.
"use strict";
class CadenzaRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const input = inputs[0];
    if (input && input.length) this.port.postMessage(input[0].slice(0));
    return true;
  }
}
registerProcessor("cadenza-recorder", CadenzaRecorder);
