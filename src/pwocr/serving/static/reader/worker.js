// The in-page reader: a module Web Worker that loads onnxruntime-web and the model once, then reads
// photos sent to it, so the page stays responsive and the photo never leaves the device.
//
// Messages in:  {type: "load"},
//               {type: "read", id, file (a Blob), options: {candidates, charset, length, min_length, max_length}},
//               {type: "fuse", id, files (Blobs of one password line), options}: one fused reading,
//               {type: "frame", id, frame ({data: RGBA, width, height}), options}: a camera frame, fused
//                 with the recent frames that read the same password; {type: "forget"}: a new password
// Messages out: {type: "progress", loaded, total}, {type: "ready", threads},
//               {type: "reading", id, reading, ms, frames?}, {type: "error", id?, message}

import * as ort from "../ort/ort.wasm.min.mjs";
import { decodeReading, fuseReadings, temperedProbabilities } from "./decode.js";
import { fromRGBA, isGrayFile, toInput, toLine } from "./preprocess.js";

let model = null;
let session = null;
let loading = null;

const here = (path) => new URL(path, import.meta.url).href;

// The bytes of `url`, reporting each chunk's size through `onBytes` (for the page's progress bar).
async function fetchBytes(url, onBytes) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: ${response.status}`);
  const reader = response.body.getReader();
  const chunks = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.length;
    onBytes(value.length);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) { out.set(chunk, at); at += chunk.length; }
  return out;
}

async function load() {
  model = await (await fetch(here("../model/model.json"))).json();
  const total = model.graph_bytes + model.wasm_bytes;
  let loaded = 0;
  const progress = (n) => { loaded += n; postMessage({ type: "progress", loaded, total }); };
  const [wasm, graph] = await Promise.all([
    fetchBytes(here("../ort/ort-wasm-simd-threaded.wasm"), progress),
    fetchBytes(here(`../${model.graph}`), progress),
  ]);
  ort.env.wasm.wasmBinary = wasm;
  // Threads need SharedArrayBuffer, which only a cross-origin-isolated page has (pwocr serve sends the headers).
  const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  postMessage({ type: "ready", threads });
}

// A photo as pixels, upright (EXIF), unmanaged colours (as Pillow reads them), in the model's channels.
async function decodeImage(file) {
  const bytes = new Uint8Array(await file.slice(0, 65536).arrayBuffer());
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none", imageOrientation: "from-image" });
  } catch {
    throw new Error(`${file.name || "the file"}: not an image this browser can read`);
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height, { colorSpace: "srgb" }).data;
  return fromRGBA(rgba, canvas.width, canvas.height, isGrayFile(bytes));
}

// The model's log-probabilities of one line, as a steps x classes table.
async function logProbabilities(line) {
  const input = toInput(line, model.config);
  const feeds = { images: new ort.Tensor("float32", input.data, input.dims) };
  const output = (await session.run(feeds)).log_probs; // steps x 1 x classes
  const [steps, , classes] = output.dims;
  return { data: output.data, steps, classes };
}

// Whether `recognize --layout auto` takes an image of this size for a line crop without running its detector.
function lineSized(width, height) {
  const limits = model.line_sized;
  return height <= limits.max_height || (width / height >= limits.min_aspect && height <= limits.max_wide_height);
}

async function read(file, options) {
  const times = [performance.now()];
  const image = await decodeImage(file);
  if (!lineSized(image.width, image.height)) {
    // Read as one line, a whole photo would give a confident nonsense; the detector is not in the page yet.
    throw Object.assign(new Error(`${image.width}×${image.height} looks like a whole photo, and this page reads one cropped line at a time`), { photo: true });
  }
  times.push(performance.now());
  const line = toLine(image, model.config);
  times.push(performance.now());
  const table = await logProbabilities(line);
  times.push(performance.now());
  const probs = temperedProbabilities(table.data, table.steps, table.classes, model.config.temperature);
  const reading = decodeReading(probs, table.steps, table.classes, model, options);
  times.push(performance.now());
  const [decode, preprocess, run, decoding] = times.slice(1).map((t, i) => t - times[i]);
  return { reading: { image: file.name || "photo", ...reading }, ms: times[4] - times[0], timings: { decode, preprocess, run, decoding } };
}

// The probability table of one line image ({data, width, height, channels}).
async function tableOf(image) {
  const table = await logProbabilities(toLine(image, model.config));
  return { probs: temperedProbabilities(table.data, table.steps, table.classes, model.config.temperature), steps: table.steps, classes: table.classes };
}

async function fuseFiles(files, options) {
  const tables = [];
  for (const file of files) tables.push(await tableOf(await decodeImage(file)));
  const name = (files[0].name || "photo") + (files.length > 1 ? ` (+${files.length - 1} frames)` : "");
  return { image: name, ...fuseReadings(tables, model, options) };
}

// The camera's recent frames of one password: a frame whose reading differs from the fused one in
// more than a third of its characters is another password (or none), and starts the window afresh.
const WINDOW = 5;
let recent = [];

function distance(a, b) {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = here;
    }
  }
  return row[b.length];
}

async function fuseFrame(frame, options) {
  const table = await tableOf(fromRGBA(frame.data, frame.width, frame.height, false));
  const alone = decodeReading(table.probs, table.steps, table.classes, model, {});
  if (recent.length) {
    const fused = fuseReadings(recent, model, {});
    if (distance(alone.text, fused.text) * 3 > Math.max(alone.text.length, fused.text.length)) recent = [];
  }
  if (!alone.text) return { reading: { image: "camera", ...alone }, frames: 0 };
  recent = [...recent, table].slice(-WINDOW);
  return { reading: { image: "camera", ...fuseReadings(recent, model, options) }, frames: recent.length };
}

onmessage = async (event) => {
  const message = event.data;
  try {
    if (message.type === "load") {
      loading = loading || load();
      await loading;
    } else if (message.type === "read") {
      await (loading = loading || load());
      const { reading, ms, timings } = await read(message.file, message.options || {});
      postMessage({ type: "reading", id: message.id, reading, ms, timings });
    } else if (message.type === "fuse") {
      await (loading = loading || load());
      postMessage({ type: "reading", id: message.id, reading: await fuseFiles(message.files, message.options || {}) });
    } else if (message.type === "frame") {
      await (loading = loading || load());
      const { reading, frames } = await fuseFrame(message.frame, message.options || {});
      postMessage({ type: "reading", id: message.id, reading, frames });
    } else if (message.type === "forget") {
      recent = [];
    }
  } catch (e) {
    if (message.type === "load") loading = null;
    postMessage({ type: "error", id: message.id, message: String(e && e.message ? e.message : e), photo: Boolean(e && e.photo) });
  }
};
