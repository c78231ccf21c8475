// The in-page reader: a module Web Worker that loads onnxruntime-web and the model once, then reads
// photos sent to it, so the page stays responsive and the photo never leaves the device.
//
// Messages in:  {type: "load"}, {type: "read", id, file (a Blob), options: {candidates, charset, length, min_length, max_length}}
// Messages out: {type: "progress", loaded, total}, {type: "ready", threads},
//               {type: "reading", id, reading, ms}, {type: "error", id?, message}

import * as ort from "../ort/ort.wasm.min.mjs";
import { decodeReading, temperedProbabilities } from "./decode.js";
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
    }
  } catch (e) {
    if (message.type === "load") loading = null;
    postMessage({ type: "error", id: message.id, message: String(e && e.message ? e.message : e), photo: Boolean(e && e.photo) });
  }
};
