// Copies the microphone's samples to the page, block by block (AudioWorklet thread).
class LlasoRecorder extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice(0));
    return true;
  }
}
registerProcessor("llaso-recorder", LlasoRecorder);
