// The llaso web page: talk to the served model with text, audio files or the microphone.
// Everything it needs comes from this server; it talks only to this server's /v1 API.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "llaso-api-key";
const SENT_AS_IS = ["wav", "mp3", "flac", "ogg"];  // formats the server decodes; others are converted here

const state = {
  key: sessionStorage.getItem(KEY_STORAGE) || "",
  model: "",
  authRequired: false,
  history: [],        // OpenAI messages of the conversation so far
  attachments: [],    // {name, format, base64, blob, url}
  busy: false,
  recorder: null,
};

// ------------------------------------------------------------------ status and key
function setStatus(text, kind) {
  const el = $("status");
  el.textContent = text;
  el.className = "status " + (kind || "");
}

function showError(message) {
  const el = $("error");
  el.textContent = message;
  el.hidden = !message;
}

function showKeyPanel(message) {
  $("key-panel").hidden = false;
  if (message) showError(message);
  $("api-key").focus();
}

async function checkHealth() {
  try {
    const response = await fetch("/health", { cache: "no-store" });
    const health = await response.json();
    state.model = health.model || state.model;
    state.authRequired = !!health.auth_required;
    $("model").textContent = state.model;
    $("change-key").hidden = !state.authRequired;
    if (health.status === "ok") {
      setStatus("ready", "ok");
    } else {
      setStatus(health.status === "loading" ? "loading the model…" : health.status, "bad");
      setTimeout(checkHealth, 2000);
    }
    if (state.authRequired && !state.key) showKeyPanel();
  } catch (err) {
    setStatus("server unreachable", "bad");
    setTimeout(checkHealth, 3000);
  }
}

function headers(extra) {
  const h = Object.assign({}, extra || {});
  if (state.key) h["Authorization"] = "Bearer " + state.key;
  return h;
}

async function errorMessage(response) {
  try {
    const body = await response.json();
    if (body && body.error && body.error.message) return body.error.message;
  } catch (err) { /* not JSON */ }
  return "HTTP " + response.status;
}

// ------------------------------------------------------------------ audio helpers
function sniffFormat(bytes) {
  const ascii = (start, end) => String.fromCharCode(...bytes.slice(start, end));
  if (bytes.length >= 12 && (ascii(0, 4) === "RIFF" || ascii(0, 4) === "RF64") && ascii(8, 12) === "WAVE") return "wav";
  if (ascii(0, 4) === "fLaC") return "flac";
  if (ascii(0, 4) === "OggS") return "ogg";
  if (ascii(0, 3) === "ID3" || (bytes[0] === 0xff && (bytes[1] & 0xe0) === 0xe0)) return "mp3";
  return null;
}

function blobToBase64(blob) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(blob);
  });
}

// Float32 mono samples -> a 16-bit PCM WAV Blob.
function encodeWav(samples, rate) {
  const buffer = new ArrayBuffer(44 + samples.length * 2);
  const view = new DataView(buffer);
  const text = (offset, s) => { for (let i = 0; i < s.length; i++) view.setUint8(offset + i, s.charCodeAt(i)); };
  text(0, "RIFF"); view.setUint32(4, 36 + samples.length * 2, true); text(8, "WAVE");
  text(12, "fmt "); view.setUint32(16, 16, true); view.setUint16(20, 1, true); view.setUint16(22, 1, true);
  view.setUint32(24, rate, true); view.setUint32(28, rate * 2, true); view.setUint16(32, 2, true);
  view.setUint16(34, 16, true); text(36, "data"); view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    view.setInt16(44 + i * 2, s < 0 ? s * 0x8000 : s * 0x7fff, true);
  }
  return new Blob([buffer], { type: "audio/wav" });
}

// Any AudioBuffer -> 16 kHz mono WAV (what the model listens to anyway).
async function toWav16k(audioBuffer) {
  const frames = Math.max(1, Math.ceil(audioBuffer.duration * 16000));
  const offline = new OfflineAudioContext(1, frames, 16000);
  const source = offline.createBufferSource();
  source.buffer = audioBuffer;
  source.connect(offline.destination);
  source.start();
  const rendered = await offline.startRendering();
  return encodeWav(rendered.getChannelData(0), 16000);
}

async function addAttachment(name, blob) {
  const bytes = new Uint8Array(await blob.slice(0, 16).arrayBuffer());
  let format = sniffFormat(bytes);
  if (!SENT_AS_IS.includes(format)) {  // m4a, webm, ...: let the browser decode it
    const context = new AudioContext();
    try {
      const decoded = await context.decodeAudioData(await blob.arrayBuffer());
      blob = await toWav16k(decoded);
      format = "wav";
    } catch (err) {
      showError(name + ": this browser cannot decode it, and the server accepts wav, mp3, flac or ogg");
      return;
    } finally {
      context.close();
    }
  }
  const attachment = { name, format, blob, base64: await blobToBase64(blob), url: URL.createObjectURL(blob) };
  state.attachments.push(attachment);
  renderAttachments();
}

function renderAttachments() {
  const box = $("attachments");
  box.replaceChildren();
  state.attachments.forEach((a, index) => {
    const chip = document.createElement("span");
    chip.className = "chip";
    chip.textContent = "🎧 " + a.name;
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.title = "remove";
    remove.addEventListener("click", () => { state.attachments.splice(index, 1); renderAttachments(); });
    chip.appendChild(remove);
    box.appendChild(chip);
  });
}

// ------------------------------------------------------------------ microphone
async function startRecording() {
  if (!navigator.mediaDevices || !window.AudioWorkletNode) {
    showError("Recording needs a secure page: open this server as http://127.0.0.1 or behind https.");
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: true } });
  } catch (err) {
    showError("The microphone is not available (" + err.message + ")");
    return;
  }
  const context = new AudioContext();
  await context.audioWorklet.addModule("/static/recorder-worklet.js");
  const source = context.createMediaStreamSource(stream);
  const node = new AudioWorkletNode(context, "llaso-recorder");
  const silent = context.createGain();
  silent.gain.value = 0;
  const chunks = [];
  node.port.onmessage = (event) => chunks.push(event.data);
  source.connect(node).connect(silent).connect(context.destination);
  const started = performance.now();
  const timer = setInterval(() => {
    $("record-time").textContent = ((performance.now() - started) / 1000).toFixed(1) + " s";
  }, 100);
  state.recorder = { stream, context, chunks, timer };
  $("record").setAttribute("aria-pressed", "true");
  $("record").textContent = "Stop";
}

async function stopRecording() {
  const { stream, context, chunks, timer } = state.recorder;
  state.recorder = null;
  clearInterval(timer);
  stream.getTracks().forEach((track) => track.stop());
  const length = chunks.reduce((n, c) => n + c.length, 0);
  $("record").setAttribute("aria-pressed", "false");
  $("record").textContent = "Record";
  $("record-time").textContent = "";
  if (length === 0) { context.close(); showError("Nothing was recorded."); return; }
  const buffer = context.createBuffer(1, length, context.sampleRate);
  const channel = buffer.getChannelData(0);
  let offset = 0;
  for (const c of chunks) { channel.set(c, offset); offset += c.length; }
  await context.close();
  const stamp = new Date().toLocaleTimeString();
  await addAttachment("recording " + stamp + ".wav", await toWav16k(buffer));
}

// ------------------------------------------------------------------ conversation
function addBubble(role, text, attachments) {
  const bubble = document.createElement("div");
  bubble.className = "message " + role;
  for (const a of attachments || []) {
    const player = document.createElement("audio");
    player.controls = true;
    player.src = a.url;
    player.title = a.name;
    bubble.appendChild(player);
  }
  const body = document.createElement("span");
  body.className = "text";
  body.textContent = text;
  bubble.appendChild(body);
  $("conversation").appendChild(bubble);
  bubble.scrollIntoView({ block: "end" });
  return bubble;
}

function setMeta(bubble, text) {
  const meta = document.createElement("div");
  meta.className = "meta";
  meta.textContent = text;
  bubble.appendChild(meta);
}

async function* serverSentEvents(response) {
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5).trimStart()).join("\n");
      if (data) yield data;
    }
  }
}

function setBusy(busy) {
  state.busy = busy;
  for (const id of ["send", "transcribe", "reset"]) $(id).disabled = busy;
  $("conversation").dataset.state = busy ? "busy" : "idle";
}

async function send(event) {
  event.preventDefault();
  if (state.busy) return;
  const text = $("prompt").value.trim();
  const attachments = state.attachments.slice();
  if (!text && attachments.length === 0) { showError("Type a message or add audio first."); return; }
  if (state.authRequired && !state.key) { showKeyPanel("Enter an API key first."); return; }
  showError("");
  const content = attachments.length === 0 ? text : [
    ...attachments.map((a) => ({ type: "input_audio", input_audio: { data: a.base64, format: a.format } })),
    ...(text ? [{ type: "text", text }] : []),
  ];
  const userMessage = { role: "user", content };
  addBubble("user", text, attachments);
  $("prompt").value = "";
  state.attachments = [];
  renderAttachments();
  const bubble = addBubble("assistant", "");
  bubble.classList.add("streaming");
  bubble.dataset.chunks = "0";
  const textNode = bubble.querySelector(".text");
  setBusy(true);
  const started = performance.now();
  let firstToken = null;
  let answer = "";
  let finished = false;
  try {
    const response = await fetch("/v1/chat/completions", {
      method: "POST",
      headers: headers({ "Content-Type": "application/json" }),
      body: JSON.stringify({
        model: state.model, messages: state.history.concat([userMessage]), stream: true,
        stream_options: { include_usage: true },
        max_tokens: Number($("max-tokens").value) || 256, temperature: Number($("temperature").value) || 0,
      }),
    });
    if (!response.ok) {
      const message = await errorMessage(response);
      if (response.status === 401) showKeyPanel(message);
      throw new Error(message);
    }
    for await (const data of serverSentEvents(response)) {
      if (data === "[DONE]") break;
      const chunk = JSON.parse(data);
      if (chunk.error) throw new Error(chunk.error.message);
      const choice = (chunk.choices || [])[0];
      if (choice && choice.delta && choice.delta.content) {
        if (firstToken === null) firstToken = performance.now() - started;
        answer += choice.delta.content;
        textNode.textContent = answer;
        bubble.dataset.chunks = String(Number(bubble.dataset.chunks) + 1);
      }
      if (choice && choice.finish_reason) finished = true;
      if (chunk.usage) {
        const u = chunk.usage;
        setMeta(bubble, `${u.prompt_tokens} prompt tokens (audio included), ${u.completion_tokens} generated · ` +
          `first token ${(firstToken / 1000 || 0).toFixed(2)} s · total ${((performance.now() - started) / 1000).toFixed(2)} s`);
      }
    }
    if (!finished) throw new Error("the answer stopped before it finished");
    state.history.push(userMessage, { role: "assistant", content: answer });
  } catch (err) {
    showError(err.message);
    if (!answer) bubble.remove();
  } finally {
    bubble.classList.remove("streaming");
    setBusy(false);
  }
}

async function transcribe() {
  if (state.busy) return;
  const attachment = state.attachments[0];
  if (!attachment) { showError("Add or record audio to transcribe."); return; }
  if (state.authRequired && !state.key) { showKeyPanel("Enter an API key first."); return; }
  showError("");
  setBusy(true);
  try {
    const form = new FormData();
    form.append("file", attachment.blob, attachment.name);
    form.append("model", "whisper-1");
    form.append("response_format", "json");
    const response = await fetch("/v1/audio/transcriptions", { method: "POST", headers: headers(), body: form });
    if (!response.ok) {
      const message = await errorMessage(response);
      if (response.status === 401) showKeyPanel(message);
      throw new Error(message);
    }
    const result = await response.json();
    addBubble("user", "", [attachment]);
    const bubble = addBubble("assistant", result.text || "(no speech found)");
    setMeta(bubble, "Whisper transcript");
    state.attachments.shift();
    renderAttachments();
  } catch (err) {
    showError(err.message);
  } finally {
    setBusy(false);
  }
}

// ------------------------------------------------------------------ wiring
function init() {
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.key = $("api-key").value.trim();
    sessionStorage.setItem(KEY_STORAGE, state.key);
    $("api-key").value = "";
    $("key-panel").hidden = true;
    showError("");
  });
  $("change-key").addEventListener("click", () => showKeyPanel());
  $("audio-file").addEventListener("change", async (event) => {
    for (const file of Array.from(event.target.files)) await addAttachment(file.name, file);
    event.target.value = "";
  });
  $("record").addEventListener("click", () => (state.recorder ? stopRecording() : startRecording()));
  $("composer").addEventListener("submit", send);
  $("prompt").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); $("composer").requestSubmit(); }
  });
  $("transcribe").addEventListener("click", transcribe);
  $("reset").addEventListener("click", () => {
    state.history = [];
    $("conversation").replaceChildren();
    showError("");
  });
  setBusy(false);
  checkHealth();
}

document.addEventListener("DOMContentLoaded", init);
