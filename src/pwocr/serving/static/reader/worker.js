// The in-page reader: a module Web Worker that loads onnxruntime-web and the model once, then reads
// photos sent to it, so the page stays responsive and the photo never leaves the device. A line
// crop is read by pwocr's model; a whole photo (pwocr.reader's decision) by photo.js, with
// PP-OCRv6's detector and label reader (its CTC layer over pwocr's features) and PP-OCR's text-angle classifier. Their files are
// fetched in the background as soon as the line reader is ready, so that after one visit whole photos
// read offline too (the service worker keeps them); their sessions are built when the first whole
// photo comes, so a page that reads crops holds no more.
//
// Messages in:  {type: "load"},
//               {type: "read", id, file (a Blob), options: {candidates, charset, length, min_length, max_length}},
//               {type: "fuse", id, files (Blobs of one password line), options}: one fused reading,
//               {type: "frame", id, frame ({data: RGBA, width, height}), options}: a camera frame, fused
//                 with the recent frames that read the same password; {type: "forget"}: a new password
// Messages out: {type: "progress", loaded, total, stage?: "photo"}, {type: "ready", threads, photos (reads whole photos)},
//               {type: "photo-ready"} (the whole-photo reader's files are fetched: whole photos read offline),
//               {type: "photo-unavailable", message} (they could not be fetched: a whole photo will try again),
//               {type: "reading", id, reading, ms, frames?}, {type: "error", id?, message}
//               A whole photo's reading is the JSON of `pwocr recognize --json` on it: {image, turned, lines, password, pairs}.

import * as ort from "../ort/ort.wasm.min.mjs";
import { decodeReading, fuseReadings, temperedProbabilities } from "./decode.js";
import { boxesFromMap, detectorInput } from "./detector.js";
import { luminance, resizeImage } from "./imaging.js";
import { labelInput, labelReading } from "./labels.js";
import { useRules } from "./clues.js";
import { lineSized, looksLikeLine, readBoxes } from "./photo.js";
import { fromRGBA, isGrayFile, toInput, toLine } from "./preprocess.js";

let model = null;
let session = null;
// The width of a frame's features: PP-OCRv6's mixer's, what its CTC layer reads.
const FEATURES = 120;

// `start()` run once: its promise, shared by every caller until it fails (the next call then starts again);
// `forget()` lets its result go.
function once(start) {
  let pending = null;
  const get = () => (pending = pending || start().catch((e) => { pending = null; throw e; }));
  get.forget = () => { pending = null; };
  return get;
}

// The whole-photo reader's files (rules, detector, labels, angles), until its sessions are built from them,
// and the reader itself (PP-OCRv6's detector and label reader, PP-OCR's text-angle classifier, pwocr's rules).
const photoFiles = once(fetchPhotoFiles);
const photoReader = once(loadPhotoReader);
// The line reader (onnxruntime-web and pwocr's model): loaded by the page's "load", or by the first request.
const lineReader = once(load);

const here = (path) => new URL(path, import.meta.url).href;

// The response for the site's file `path` (relative to the site's root), or an error that names the file:
// "model/model.json: 404" for an HTTP error, a TypeError ("model/model.json: Failed to fetch") when the
// network is off, so that callers can tell the two apart.
async function fetchSite(path, signal = undefined) {
  let response;
  try {
    response = await fetch(here(`../${path}`), { signal });
  } catch (e) {
    if (e && e.name === "AbortError") throw e;
    throw new TypeError(`${path}: ${e && e.message ? e.message : e}`);
  }
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response;
}

// The site's JSON file `path`, or an error that names it (a host's HTML page served in its place is no JSON).
async function fetchJson(path) {
  const response = await fetchSite(path);
  try {
    return await response.json();
  } catch {
    throw new Error(`${path}: not valid JSON`);
  }
}

// The bytes of the site's file `path`, reporting each chunk's size through `onBytes` (for the page's progress bar).
async function fetchBytes(path, onBytes, signal = undefined) {
  const response = await fetchSite(path, signal);
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
  model = await fetchJson("model/model.json");
  const total = model.graph_bytes + model.wasm_bytes;
  let loaded = 0;
  // One file failing stops the other, and its progress with it (no loading bar shown again after the failure).
  const stop = new AbortController();
  const progress = (n) => {
    loaded += n;
    if (!stop.signal.aborted) postMessage({ type: "progress", loaded, total });
  };
  const [wasm, graph] = await Promise.all(
    ["ort/ort-wasm-simd-threaded.wasm", model.graph].map((path) =>
      fetchBytes(path, progress, stop.signal).catch((e) => { stop.abort(); throw e; }),
    ),
  );
  ort.env.wasm.wasmBinary = wasm;
  // Threads need SharedArrayBuffer, which only a cross-origin-isolated page has (pwocr serve sends the headers).
  const threads = self.crossOriginIsolated ? Math.min(4, navigator.hardwareConcurrency || 1) : 1;
  ort.env.wasm.numThreads = threads;
  session = await ort.InferenceSession.create(graph, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  postMessage({ type: "ready", threads, photos: Boolean(model.photo) });
  if (model.photo) {
    photoFiles().then(
      () => postMessage({ type: "photo-ready" }),
      (e) => postMessage({ type: "photo-unavailable", message: String(e.message || e) }),
    );
  }
}

// The whole-photo reader's files: model/photo.json (pwocr's rules and PP-OCRv6's dictionary) and PP-OCR's
// three graphs, fetched with the page's progress bar right after the line reader (the service worker keeps them).
async function fetchPhotoFiles() {
  const files = model.photo;
  const total = files.rules_bytes + files.detector_bytes + files.labels_bytes + files.angles_bytes;
  let loaded = 0;
  // One file failing stops the others, and their progress with them (no loading bar left behind).
  const stop = new AbortController();
  const progress = (n) => {
    loaded += n;
    if (!stop.signal.aborted) postMessage({ type: "progress", loaded, total, stage: "photo" });
  };
  try {
    return await Promise.all(
      [files.rules, files.detector, files.labels, files.angles].map((file) =>
        fetchBytes(file, progress, stop.signal).catch((e) => { stop.abort(); throw e; }),
      ),
    );
  } catch (e) {
    // fetch rejects with a TypeError when the network is off (offline before the background fetch
    // completed: the service worker has no copy); an HTTP error means the site lacks the file.
    const advice = e instanceof TypeError ? "go online once, or crop the photo to the password's line"
      : "crop the photo to the password's line";
    throw new Error(`the whole-photo reader could not be fetched (${e.message}): ${advice}`);
  }
}

// The whole-photo reader's sessions, built from its files when the first whole photo comes.
async function loadPhotoReader() {
  const [rulesBytes, detectorGraph, labelsGraph, anglesGraph] = await photoFiles();
  photoFiles.forget(); // the sessions hold what they need of the bytes
  const rules = JSON.parse(new TextDecoder().decode(rulesBytes));
  useRules(rules.clues);
  const options = { executionProviders: ["wasm"], graphOptimizationLevel: "all" };
  const detector = await ort.InferenceSession.create(detectorGraph, options);
  const labels = await ort.InferenceSession.create(labelsGraph, options);
  const angles = await ort.InferenceSession.create(anglesGraph, options);
  const classes = ["", ...rules.dictionary, " "];
  const run = async (graph, input) => {
    const feeds = { [graph.inputNames[0]]: new ort.Tensor("float32", input.data, input.dims) };
    return (await graph.run(feeds))[graph.outputNames[0]];
  };
  return {
    model,
    rules,
    // TextDetector.__call__: the boxes of a gray photo.
    async detect(gray) {
      const map = await run(detector, detectorInput(gray, rules.detector));
      const [, , height, width] = map.dims;
      return boxesFromMap({ data: map.data, width, height }, gray.width, gray.height, rules.detector);
    },
    // Recognizer.probabilities of one straightened line.
    table: tableOf,
    // AngleClassifier.upside_down: each line's probability of reading upside down, one batch of 3 x 48 x 192 inputs.
    async upsideDown(inputs) {
      const [height, width] = rules.angle_input;
      const batch = new Float32Array(inputs.length * 3 * height * width);
      inputs.forEach((input, i) => batch.set(input, i * input.length));
      const output = await run(angles, { data: batch, dims: [inputs.length, 3, height, width] });
      return Array.from({ length: inputs.length }, (_, i) => output.data[2 * i + 1]);
    },
    // photo._SecondReadings: LabelReader.from_features of a line's table's PP-OCRv6 features over its own
    // `frames` where model/labels.onnx is PP-OCRv6's CTC layer ("labels_from": "features"), else
    // LabelReader.__call__ of its gray crop.
    async labels(gray, table, frames) {
      if (model.photo.labels_from === "features") {
        const output = await run(labels, { data: table.features.subarray(0, frames * FEATURES), dims: [frames, FEATURES] });
        const [steps, count] = output.dims;
        return labelReading(output.data, steps, count, classes);
      }
      const output = await run(labels, labelInput(gray));
      const [, steps, count] = output.dims;
      return labelReading(output.data, steps, count, classes);
    },
  };
}

// pwocr.data.images.load's size limit for a photo (load_photo's max_side): a JPEG Pillow would decode at
// 1/2, 1/4 or 1/8 scale from its DCT (draft) is averaged down to that size here, which only comes
// close to it; any image still over 1.5 max_side is area-averaged to max_side, as Python does.
function photoAtReadingSize(image, jpeg, maxSide) {
  const long = Math.max(image.width, image.height);
  if (jpeg && long > maxSide) {
    const scale = maxSide / long;
    const fit = Math.min(Math.floor(image.width / Math.max(1, Math.trunc(image.width * scale))), Math.floor(image.height / Math.max(1, Math.trunc(image.height * scale))));
    const a = [8, 4, 2, 1].find((factor) => fit >= factor);
    if (a > 1) image = resizeImage(image, Math.ceil(image.width / a), Math.ceil(image.height / a), "area");
  }
  const side = Math.max(image.width, image.height);
  if (side <= maxSide * 1.5) return image;
  const ratio = maxSide / side;
  return resizeImage(image, Math.max(1, Math.round(image.width * ratio)), Math.max(1, Math.round(image.height * ratio)), "area");
}

// pwocr.data.images' limits: MAX_PIXELS, the largest image decoded, and MAX_ASPECT, the widest ratio of an
// image's long side to its short side (beyond it, a sliver every resize would round to zero pixels).
const MAX_PIXELS = 120_000_000;
const MAX_ASPECT = 1000;

// images._check_size: a one-line error, as Python words it, for an image of a size pwocr will not decode.
function checkSize(name, width, height) {
  if (width <= 0 || height <= 0) throw new Error(`${name}: the image is empty (${width}x${height})`);
  if (Math.max(width, height) > MAX_ASPECT * Math.min(width, height)) {
    throw new Error(`${name}: ${width}x${height} is a sliver, not a photo or a text line (over ${MAX_ASPECT}:1)`);
  }
  if (width * height > MAX_PIXELS) {
    const mp = Math.round((width * height) / 1e5) / 10;
    throw new Error(`${name}: ${width}x${height} is ${mp} MP, more than the ${MAX_PIXELS / 1e6} MP pwocr decodes`);
  }
}

// The stored width and height that the header of a PNG, GIF, BMP, WebP or JPEG (its first bytes, `b`)
// says, or null (another format, or a JPEG whose frame header lies further in): a photo over the limits is
// refused before the browser decodes a single pixel of it. The limits do not care which way the photo stands.
function headerSize(b) {
  const u16 = (i, little) => (little ? b[i] | (b[i + 1] << 8) : (b[i] << 8) | b[i + 1]);
  const u32 = (i, little) => (little ? u16(i, true) + u16(i + 2, true) * 65536 : u16(i) * 65536 + u16(i + 2));
  const ascii = (i, n) => String.fromCharCode(...b.subarray(i, i + n));
  if (b.length >= 24 && b[0] === 0x89 && ascii(1, 3) === "PNG" && ascii(12, 4) === "IHDR") return [u32(16), u32(20)];
  if (b.length >= 10 && ascii(0, 4) === "GIF8") return [u16(6, true), u16(8, true)];
  if (b.length >= 26 && ascii(0, 2) === "BM" && u32(14, true) >= 40) {
    const height = u32(22, true) | 0; // negative: stored top-down
    return [u32(18, true) | 0, Math.abs(height)];
  }
  if (b.length >= 30 && ascii(0, 4) === "RIFF" && ascii(8, 4) === "WEBP") {
    const chunk = ascii(12, 4);
    if (chunk === "VP8 ") return [u16(26, true) & 0x3fff, u16(28, true) & 0x3fff];
    if (chunk === "VP8L") {
      const bits = u32(21, true);
      return [(bits & 0x3fff) + 1, ((bits >>> 14) & 0x3fff) + 1];
    }
    if (chunk === "VP8X") return [1 + (b[24] | (b[25] << 8) | (b[26] << 16)), 1 + (b[27] | (b[28] << 8) | (b[29] << 16))];
    return null;
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    // The segments up to the first start-of-frame marker (SOF0 to SOF15, less DHT, JPG and DAC).
    for (let i = 2; i + 9 < b.length;) {
      if (b[i] !== 0xff) return null;
      const marker = b[i + 1];
      if (marker === 0xff) { i++; continue; }
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { i += 2; continue; }
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) return [u16(i + 7), u16(i + 5)];
      i += 2 + u16(i + 2);
    }
  }
  return null;
}

// A photo as pixels, upright (EXIF), unmanaged colours (as Pillow reads them), in the model's channels;
// `jpeg` says whether the file is a JPEG (Pillow may decode those at reduced scale). An image over
// pwocr's limits (MAX_PIXELS, MAX_ASPECT) is refused with Python's one-line message, by its header where
// it has one this reader knows, else by the decoded bitmap's size, before it is drawn to a canvas.
async function decodeImage(file) {
  const bytes = new Uint8Array(await file.slice(0, 65536).arrayBuffer());
  const name = file.name || "the file";
  const stored = headerSize(bytes);
  if (stored) checkSize(name, stored[0], stored[1]);
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { colorSpaceConversion: "none", premultiplyAlpha: "none", imageOrientation: "from-image" });
  } catch {
    throw new Error(`${name}: not an image this browser can read`);
  }
  try {
    checkSize(name, bitmap.width, bitmap.height);
  } catch (e) {
    bitmap.close();
    throw e;
  }
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const context = canvas.getContext("2d", { willReadFrequently: true, colorSpace: "srgb" });
  context.drawImage(bitmap, 0, 0);
  bitmap.close();
  const rgba = context.getImageData(0, 0, canvas.width, canvas.height, { colorSpace: "srgb" }).data;
  const image = fromRGBA(rgba, canvas.width, canvas.height, isGrayFile(bytes));
  image.jpeg = bytes[0] === 0xff && bytes[1] === 0xd8;
  return image;
}

// The model's log-probabilities of one line, as a steps x classes table, and its steps x FEATURES
// features (the graph's "features" output; null for a graph exported without it).
async function logProbabilities(line) {
  const input = toInput(line, model.config);
  const feeds = { images: new ort.Tensor("float32", input.data, input.dims) };
  const outputs = await session.run(feeds);
  const output = outputs.log_probs; // steps x 1 x classes
  const [steps, , classes] = output.dims;
  return { data: output.data, steps, classes, features: outputs.features ? outputs.features.data : null };
}

// `recognize --layout auto` (pwocr.reader.read_image): a line crop, by its size or by the detector's
// boxes, is read as one line; any other image as a whole photo.
async function read(file, options) {
  const times = [performance.now()];
  let image = await decodeImage(file);
  const name = file.name || "photo";
  if (!lineSized(image.width, image.height, model.line_sized)) {
    if (!model.photo) {
      // A site built without PP-OCRv6's models: read as one line, a whole photo would give a confident nonsense.
      throw Object.assign(new Error(`${image.width}×${image.height} looks like a whole photo, and this site reads one cropped line at a time`), { photo: true });
    }
    const decoded = performance.now();
    const reader = await photoReader();
    const loaded = performance.now();
    image = photoAtReadingSize(image, image.jpeg, reader.rules.decode_side);
    const boxes = await reader.detect(luminance(image));
    const detected = performance.now();
    if (!looksLikeLine(boxes, image.width, image.height)) {
      const reading = await readBoxes(image, name, boxes, options, reader);
      const end = performance.now();
      // decode: the file to pixels; load: the whole-photo reader's sessions built (the first whole photo only),
      // after its background fetch where that had not finished;
      // detect: the detector and its boxes; lines: straightening, reading, labels and the pick.
      const timings = { decode: decoded - times[0], load: loaded - decoded, detect: detected - loaded, lines: end - detected };
      return { reading, ms: end - times[0], timings };
    }
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
  return { reading: { image: name, ...reading }, ms: times[4] - times[0], timings: { decode, preprocess, run, decoding } };
}

// The probability table of one line image ({data, width, height, channels}), with the line's features.
async function tableOf(image) {
  const table = await logProbabilities(toLine(image, model.config));
  const probs = temperedProbabilities(table.data, table.steps, table.classes, model.config.temperature);
  return { probs, steps: table.steps, classes: table.classes, features: table.features };
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
      await lineReader();
    } else if (message.type === "read") {
      await lineReader();
      const { reading, ms, timings } = await read(message.file, message.options || {});
      postMessage({ type: "reading", id: message.id, reading, ms, timings });
    } else if (message.type === "fuse") {
      await lineReader();
      postMessage({ type: "reading", id: message.id, reading: await fuseFiles(message.files, message.options || {}) });
    } else if (message.type === "frame") {
      await lineReader();
      const { reading, frames } = await fuseFrame(message.frame, message.options || {});
      postMessage({ type: "reading", id: message.id, reading, frames });
    } else if (message.type === "forget") {
      recent = [];
    }
  } catch (e) {
    postMessage({ type: "error", id: message.id, message: String(e && e.message ? e.message : e), photo: Boolean(e && e.photo) });
  }
};
