// pwocr's page: read a photo on this device (reader/worker.js: onnxruntime-web in a Web Worker) or,
// when the user asks, on the pwocr server (/v1/read); show the password so each character can be checked.
// No framework and nothing from outside the site (the page's Content-Security-Policy says so).
// Every URL is relative, so the exported site works from any folder of any static host.

const $ = (id) => document.getElementById(id);

// Names shown under characters people confuse, so "l" and "I" can be told apart even in a poor font.
const NAMES = {
  I: "cap i", l: "low L", 1: "one", "|": "bar", "!": "excl", i: "low i", j: "low j",
  0: "zero", O: "cap o", o: "low o", Q: "cap q", D: "cap d",
  5: "five", S: "cap s", s: "low s", 2: "two", Z: "cap z", z: "low z", 8: "eight", B: "cap b",
  6: "six", b: "low b", 9: "nine", g: "low g", q: "low q", 7: "seven",
  u: "low u", v: "low v", V: "cap v", U: "cap u", W: "cap w", w: "low w", c: "low c", C: "cap c",
  x: "low x", X: "cap x", k: "low k", K: "cap k", p: "low p", P: "cap p", y: "low y", Y: "cap y",
  "'": "quote", "`": "tick", '"': "dquote", ",": "comma", ".": "dot", ";": "semi", ":": "colon",
  "-": "dash", _: "under", "~": "tilde", "^": "caret", "(": "paren", ")": "paren",
  "[": "bracket", "]": "bracket", "{": "brace", "}": "brace", "/": "slash", "\\": "bslash",
};

function spoken(ch) {
  if (/[A-Z]/.test(ch)) return `capital ${ch}`;
  if (/[a-z]/.test(ch)) return `small ${ch}`;
  if (/[0-9]/.test(ch)) return `digit ${ch}`;
  return NAMES[ch] ? `${NAMES[ch]} (${ch})` : ch;
}

// A probability to a tenth of a percent, never rounded to a certainty it is not (pwocr.cli.output.probability_text).
export const percent = (p) => {
  if (typeof p !== "number") return "";
  if (p < 0.0005) return "<0.1%";
  if (p >= 0.9995) return ">99.9%";
  const x = p * 100;
  // Python's format rounds an exact tie (x * 4 odd: 0.25, 1.75) to the even tenth; toFixed rounds it up.
  if (Number.isInteger(x * 4) && (x * 4) % 2 === 1) {
    const below = Math.floor(x * 10);
    return `${((below % 2 === 0 ? below : below + 1) / 10).toFixed(1)}%`;
  }
  return `${x.toFixed(1)}%`;
};

// `device`: how this page reads on the device: "loading", "ready", "failed" (the reader could not load) or
// "absent" (a site built without it); `photos`: whether it reads whole photos too; `queued`: a photo chosen
// while another was being read, read next.
const state = {
  chars: [], text: "", busy: false, queued: null, open: -1, server: false, serverKnown: null, reader: null,
  device: "loading", photos: true,
};

// The server's limits, from /health: a photo over them is scaled down here rather than refused there.
const limits = { maxPixels: 0, maxBytes: 0 };

// How many times a photo is sent again after a 503 (each after the server's Retry-After).
const BUSY_RETRIES = 3;

// Phones cap a canvas's area (iOS Safari at 16.7 MP), so a scaled photo stays under this.
const CANVAS_PIXELS = 16_000_000;

// A pwocr server behind the page (site.json says so; a static host has none) offers reading there too, and says its limits.
async function findServer(site) {
  if (!site.server) return;
  try {
    const response = await fetch("health", { cache: "no-store" });
    const health = await response.json();
    if (health.status !== "ok") return;
    limits.maxPixels = health.limits.max_pixels;
    limits.maxBytes = health.limits.max_body_bytes;
    state.server = true;
    $("where").hidden = false;
    $("server-links").hidden = false;
  } catch {
    // Offline: the page reads on this device only.
  }
}

function readsOnServer() {
  return state.server && new FormData($("options-form")).get("where") === "server";
}

// The privacy line says where the next photo is read: on this device (nothing is uploaded) only while that is
// so; sent to this server once the user chose it, or the page cannot read here; never a promise it cannot keep.
function showPrivacy() {
  let text;
  if (readsOnServer()) {
    text = {
      failed: "Read on this server, as the reader could not load on this device: the photo you choose is sent to it.",
      absent: "This site reads photos on its server: the photo is sent to it.",
    }[state.device] || "Read on this server: the photo you choose is sent to it.";
  } else if (state.device === "failed") {
    text = "This page cannot read photos: its reader could not load on this device.";
  } else if (state.device === "absent") {
    text = "This page cannot read photos: it has no reader, and no server answers.";
  } else {
    text = state.photos ? "Read on this device, whole photos too; nothing is uploaded."
      : "Read on this device, one cropped line at a time; nothing is uploaded.";
  }
  $("privacy").textContent = text;
}

// Reading on this device is not possible here: the server reads instead where there is one (the device
// choice is then disabled), and the privacy line says so.
function readOnlyOnServer() {
  if (!state.server) return;
  for (const input of $("where").querySelectorAll("input")) {
    input.checked = input.value === "server";
    input.disabled = input.value === "device";
  }
}

// A photo over the server's limits (a 48 or 200 MP camera mode, a 30 MB file) is scaled down and
// sent as a JPEG; anything the browser cannot draw (HEIC in most browsers) goes as it is.
async function fitToLimits(file) {
  if (!limits.maxPixels || typeof createImageBitmap !== "function") return file;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return file;
  }
  const pixels = bitmap.width * bitmap.height;
  const room = limits.maxBytes * 0.95; // the form's own bytes
  if (pixels <= limits.maxPixels && file.size <= room) {
    bitmap.close();
    return file;
  }
  let scale = Math.min(1, Math.sqrt(Math.min(limits.maxPixels * 0.98, CANVAS_PIXELS) / pixels));
  for (let attempt = 0; attempt < 4; attempt++, scale *= 0.7) {
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.floor(bitmap.width * scale));
    canvas.height = Math.max(1, Math.floor(bitmap.height * scale));
    canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", 0.92));
    if (blob && blob.size <= room) {
      bitmap.close();
      say(`Scaled the photo down to ${canvas.width}×${canvas.height} for the server. Reading…`);
      const stem = (file.name || "photo").replace(/\.[^.]*$/, "");
      return new File([blob], `${stem}-scaled.jpg`, { type: "image/jpeg" });
    }
  }
  bitmap.close();
  return file;
}

function token() {
  try { return localStorage.getItem("pwocr-token") || ""; } catch { return ""; }
}

function saveToken(value) {
  try { localStorage.setItem("pwocr-token", value); } catch { /* private mode: keep it for this page only */ }
  state.token = value;
}

function options() {
  const form = new FormData($("options-form"));
  const out = {};
  for (const [key, value] of form.entries()) {
    if (key !== "where" && String(value).trim() !== "") out[key] = String(value).trim();
  }
  return out;
}

// The options, each number checked against its input's own min and max (pwocr.options' bounds, which a test
// keeps equal) as the CLI and the API check them: a value out of range, or not a whole number, throws a
// one-line error naming the option, before any photo is read or sent.
function checkedOptions() {
  const out = options();
  for (const input of $("options-form").querySelectorAll("input[type=number]")) {
    const label = input.closest("label").firstChild.textContent.trim();
    const [low, high] = [Number(input.min), Number(input.max)];
    const text = input.value.trim();
    const whole = /^[+-]?\d+$/.test(text) ? Number(text) : NaN;
    if (input.validity.badInput || (text !== "" && !(whole >= low && whole <= high))) {
      throw new Error(`${label} must be a whole number from ${low} to ${high}${text ? `, not ${text}` : ""}.`);
    }
    if (text !== "") out[input.name] = String(whole);
  }
  return out;
}

// The checked options, or null after saying what is wrong, with the options shown.
function optionsOrFail() {
  try {
    return checkedOptions();
  } catch (e) {
    fail(e.message);
    $("options").open = true;
    return null;
  }
}

function say(text) { $("status").textContent = text; }
// An error ends whatever was shown: the previous photo's password is never left next to a new photo.
function fail(text) { clearResult(); $("error").textContent = text; say(""); }

// The result hidden and emptied (nothing of it left to copy), as a new read starts or fails.
function clearResult() {
  state.chars = [];
  state.reading = null;
  state.open = -1;
  $("result").hidden = true;
  const box = $("password");
  box.replaceChildren();
  box.removeAttribute("aria-label");
  delete box.dataset.text;
  for (const id of ["reading", "meta", "copied"]) $(id).textContent = "";
  for (const id of ["candidates", "lines", "alternatives"]) $(id).replaceChildren();
  for (const id of ["candidates-box", "lines-box", "alternatives"]) $(id).hidden = true;
}

// What the status line announces after a read (its live region): how many characters and how many are
// uncertain, and where the photo was read; never the password itself.
function readSummary(data, onServer) {
  const n = state.chars.length;
  const uncertain = state.chars.filter((c) => c.confusable).length;
  const count = n ? `${n} character${n === 1 ? "" : "s"}${uncertain ? `, ${uncertain} uncertain` : ""}` : "";
  const where = onServer ? "on the server: the photo was sent to it" : "on this device: nothing was uploaded";
  if (data && Array.isArray(data.lines)) {
    const password = n ? `The password has ${count}.` : "No password was found.";
    return `Read the whole photo ${where} (${data.lines.length} lines of text). ${password}`;
  }
  return n ? `Read ${count}, ${where}.` : `No characters were read, ${where}.`;
}

// The JSON of recognize --json, or (whole-photo mode) {password, lines}: one reading to show either way.
function mainReading(data) {
  if (data && data.password !== undefined && data.password !== null) {
    if (typeof data.password === "string") return { text: data.password };
    return data.password;
  }
  return data || {};
}

async function read(file) {
  if (!file) return;
  if (state.busy) {
    // One photo at a time: the latest one chosen meanwhile is read next.
    state.queued = file;
    say("Still reading the previous photo: this one is read next.");
    return;
  }
  if (file.type && !file.type.startsWith("image/")) {
    fail(`${file.name || "That file"} is not an image.`);
    return;
  }
  const choices = optionsOrFail();
  if (!choices) return;
  state.busy = true;
  clearResult();
  $("error").textContent = "";
  say("Reading…");
  // Busy is said of the result only: on <body> it would hold back the status line's announcements too.
  $("result").setAttribute("aria-busy", "true");
  document.body.dataset.busy = "true";
  for (const id of ["take", "choose"]) $(id).disabled = true;
  showPreview(file);
  try {
    const onServer = readsOnServer();
    const data = onServer ? await readOnServer(file, choices) : await (await state.reader).read(file, choices);
    if (data) {
      show(data);
      say(readSummary(data, onServer));
    }
  } catch (e) {
    if (e.photo) {
      // Only a site built without PP-OCRv6's models (the whole-photo reader) refuses a whole photo.
      const there = state.server ? ", or choose “on the server” in Options to read the whole photo there (it is then uploaded)" : "";
      fail(`${e.message}: crop the photo to the password's line and choose it again${there}.`);
    } else {
      fail(`Could not read the photo: ${e.message}`);
    }
  } finally {
    state.busy = false;
    $("result").removeAttribute("aria-busy");
    delete document.body.dataset.busy;
    for (const id of ["take", "choose"]) $(id).disabled = false;
  }
  const next = state.queued;
  state.queued = null;
  if (next) await read(next);
}

// The service worker keeps the site for offline use. The reader starts once it controls the page,
// so that the model it fetches is kept as it arrives (one download, with the progress bar); where
// there is none (plain http on a LAN address is not a secure context) the reader starts at once.
async function offlineCopy() {
  if (!("serviceWorker" in navigator) || !window.isSecureContext) return;
  try {
    await navigator.serviceWorker.register("sw.js");
    if (navigator.serviceWorker.controller) return;
    const claimed = new Promise((resolve) => navigator.serviceWorker.addEventListener("controllerchange", resolve, { once: true }));
    await Promise.race([claimed, new Promise((resolve) => setTimeout(resolve, 5000))]);
  } catch {
    // No offline copy: the page still reads while online.
  }
}

// The in-page reader: one worker, loaded at start with progress shown, answering reads in order.
function startReader(after) {
  const pending = new Map();
  let next = 0;
  let failure = null;
  const box = $("loading");
  box.hidden = false;
  // The reader could not load: the loading bar goes for good, one plain line says so, and the server reads
  // instead where there is one.
  const failed = async (message) => {
    if (failure) return;
    failure = message;
    box.hidden = true;
    document.body.dataset.reader = "failed";
    state.device = "failed";
    for (const [id, waiting] of pending) {
      pending.delete(id);
      waiting.reject(new Error(`the in-page reader could not load (${message})`));
    }
    await state.serverKnown;
    readOnlyOnServer();
    showPrivacy();
    if (state.server) say(`The reader could not load (${message}); reading on the server instead.`);
    else fail(`The reader could not load (${message}): this page cannot read photos.`);
  };
  const started = after.then(() => {
    const worker = new Worker(new URL("reader/worker.js", import.meta.url), { type: "module" });
    worker.onmessage = onMessage;
    // A worker whose scripts could not load (ort/ort.wasm.min.mjs missing) says nothing else.
    worker.onerror = (event) => {
      event.preventDefault();
      if (document.body.dataset.reader !== "ready") failed(event.message || "its scripts could not load");
    };
    worker.postMessage({ type: "load" });
    return worker;
  });
  const onMessage = ({ data }) => {
    if (data.type === "progress") {
      if (failure) return;
      box.hidden = false;
      $("loading-bar").value = data.loaded / data.total;
      const kept = navigator.serviceWorker && navigator.serviceWorker.controller ? ", kept for offline use" : "";
      const what = data.stage === "photo" ? `the whole-photo reader${kept}` : "the reader";
      $("loading-text").textContent = `Loading ${what}: ${(data.loaded / 1e6).toFixed(1)} of ${(data.total / 1e6).toFixed(1)} MB…`;
    } else if (data.type === "photo-ready") {
      box.hidden = true;
      document.body.dataset.photos = "ready";
    } else if (data.type === "photo-unavailable") {
      // Line crops still read; a whole photo tries the fetch again and says why it failed.
      box.hidden = true;
      document.body.dataset.photos = "unavailable";
    } else if (data.type === "ready") {
      box.hidden = true;
      document.body.dataset.reader = "ready";
      state.device = "ready";
      state.photos = Boolean(data.photos);
      showPrivacy();
    } else if (data.type === "reading" || data.type === "error") {
      if (data.type === "error" && data.id === undefined) failed(data.message);
      const waiting = pending.get(data.id);
      if (!waiting) return;
      pending.delete(data.id);
      if (data.type === "reading") waiting.resolve(data);
      else {
        box.hidden = true; // a whole-photo reader that failed to load leaves no loading bar behind
        waiting.reject(Object.assign(new Error(data.message), { photo: data.photo }));
      }
    }
  };
  const ask = async (message, transfer = []) => {
    if (failure) throw new Error(`the in-page reader could not load (${failure})`);
    const worker = await started;
    const id = next++;
    return new Promise((resolve, reject) => {
      pending.set(id, { resolve, reject });
      worker.postMessage({ ...message, id }, transfer);
    });
  };
  return {
    async read(file, choices) {
      return (await ask({ type: "read", file, options: choices })).reading;
    },
    // One camera frame ({data, width, height}); the answer is the reading fused so far, and of how many frames.
    frame(frame, choices) {
      return ask({ type: "frame", frame, options: choices }, [frame.data.buffer]);
    },
    async forget() {
      (await started).postMessage({ type: "forget" });
    },
  };
}

// The server's reading (/v1/read), when the user chose it: its JSON, or null after saying why not.
async function readOnServer(file, choices) {
  const upload = await fitToLimits(file);
  const form = new FormData();
  form.append("file", upload, upload.name || "photo");
  for (const [key, value] of Object.entries(choices)) form.append(key, value);
  const headers = {};
  const t = state.token || token();
  if (t) headers.Authorization = `Bearer ${t}`;
  let response;
  try {
    response = await fetch("v1/read", { method: "POST", body: form, headers });
    // A busy server says when to come back: wait that long and try again, a few times.
    for (let attempt = 1; response.status === 503 && attempt <= BUSY_RETRIES; attempt++) {
      const seconds = Math.min(30, Math.max(1, Number(response.headers.get("Retry-After")) || 1));
      say(`The server is busy: trying again in ${seconds} s…`);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      say("Reading…");
      response = await fetch("v1/read", { method: "POST", body: form, headers });
    }
  } catch (e) {
    fail(`Could not reach the server (${e.message}).`);
    return null;
  }
  let data = null;
  try { data = await response.json(); } catch { data = null; }
  if (response.status === 401) {
    $("auth").hidden = false;
    $("token").focus();
    fail("This server needs an access token: enter it and read the photo again.");
    return null;
  }
  if (!response.ok) {
    const detail = data && typeof data.detail === "string" ? data.detail : `the server answered ${response.status}`;
    const retry = response.headers.get("Retry-After");
    fail(retry ? `${detail}` : `Could not read the photo: ${detail}`);
    return null;
  }
  return data;
}

function showPreview(file) {
  const img = $("preview");
  if (img.src) URL.revokeObjectURL(img.src);
  img.src = URL.createObjectURL(file);
  $("preview-box").hidden = false;
}

function show(data) {
  const reading = mainReading(data);
  const text = typeof reading.text === "string" ? reading.text : "";
  const chars = Array.isArray(reading.chars) && reading.chars.length === [...text].length
    ? reading.chars.map((c) => ({ ...c }))
    : [...text].map((ch) => ({ char: ch, alternatives: [], confusable: false }));
  state.chars = chars;
  state.reading = reading;
  renderPassword();
  const uncertain = chars.filter((c) => c.confusable).length;
  const bits = [];
  if (!text) bits.push("No characters were read.");
  if (typeof reading.confidence === "number") bits.push(`probability ${percent(reading.confidence)}`);
  bits.push(`${[...text].length} characters`);
  if (uncertain) bits.push(`${uncertain} uncertain`);
  $("meta").textContent = bits.join(" · ");
  renderCandidates(reading, text);
  renderLines(data, text, typeof reading.line === "number" ? reading.line : -1);
  if (typeof reading.why === "string" && reading.why) $("meta").textContent += ` · ${reading.why}`;
  if (typeof data.turned === "number" && data.turned) $("meta").textContent += ` · read turned ${data.turned}°: the text stood sideways or upside down`;
  $("result").hidden = false;
  $("alternatives").hidden = true;
  state.open = -1;
  // The first uncertain character (the one to check), else the first.
  const password = $("password");
  (password.querySelector(".ch.uncertain") ?? password.querySelector(".ch"))?.focus({ preventScroll: true });
  $("result").scrollIntoView({ block: "nearest" });
}

function currentText() { return state.chars.map((c) => c.char).join(""); }

function renderPassword() {
  const box = $("password");
  box.replaceChildren();
  box.setAttribute("aria-label", `Password: ${currentText().split("").map(spoken).join(", ")}`);
  box.dataset.text = currentText();
  $("reading").textContent = currentText();
  state.chars.forEach((c, i) => {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "ch" + (c.confusable ? " uncertain" : "") + (c.edited ? " edited" : "");
    button.dataset.index = String(i);
    button.setAttribute("aria-expanded", "false");
    const conf = typeof c.confidence === "number" ? `, ${percent(c.confidence)}` : "";
    // Look-alikes the model finds nearly as likely ("I or l"): the font may draw them alike.
    const lookalikes = (c.lookalikes || []).map((a) => a.char);
    const or = lookalikes.length ? `, or ${lookalikes.map(spoken).join(", or ")}` : "";
    button.setAttribute("aria-label", `${i + 1}: ${spoken(c.char)}${or}${conf}${c.confusable ? ", uncertain" : ""}`);
    const glyph = document.createElement("span");
    glyph.className = "glyph";
    glyph.textContent = c.char;
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = lookalikes.length ? `or ${lookalikes.join(" ")}` : NAMES[c.char] || "";
    button.append(glyph, name);
    button.addEventListener("click", () => toggleAlternatives(i));
    box.append(button);
  });
}

function toggleAlternatives(i) {
  if (state.open === i) { closeAlternatives(); return; }
  state.open = i;
  const c = state.chars[i];
  const panel = $("alternatives");
  panel.replaceChildren();
  const head = document.createElement("p");
  head.textContent = `Character ${i + 1}: ${spoken(c.char)}${typeof c.confidence === "number" ? ` (${percent(c.confidence)})` : ""}. ` +
    ((c.alternatives || []).length ? "It may also be:" : "No close alternative.");
  const list = document.createElement("ul");
  const choices = [];
  if (c.original !== undefined && c.original.char !== c.char) choices.push(c.original);
  for (const a of c.alternatives || []) if (a.char !== c.char) choices.push(a);
  for (const a of choices) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button choice";
    b.append(document.createTextNode(a.char + " "));
    const small = document.createElement("small");
    small.textContent = `${NAMES[a.char] || spoken(a.char)} ${percent(a.confidence)}`;
    b.append(small);
    b.setAttribute("aria-label", `Use ${spoken(a.char)}${typeof a.confidence === "number" ? `, ${percent(a.confidence)}` : ""}`);
    b.addEventListener("click", () => replace(i, a));
    li.append(b);
    list.append(li);
  }
  const close = document.createElement("li");
  const cb = document.createElement("button");
  cb.type = "button";
  cb.className = "button";
  cb.textContent = "Close";
  cb.addEventListener("click", closeAlternatives);
  close.append(cb);
  list.append(close);
  panel.append(head, list);
  panel.hidden = false;
  for (const el of $("password").querySelectorAll(".ch")) el.setAttribute("aria-expanded", String(Number(el.dataset.index) === i));
  (list.querySelector("button") || cb).focus();
}

function closeAlternatives() {
  const i = state.open;
  state.open = -1;
  $("alternatives").hidden = true;
  for (const el of $("password").querySelectorAll(".ch")) el.setAttribute("aria-expanded", "false");
  if (i >= 0) $("password").querySelector(`.ch[data-index="${i}"]`)?.focus();
}

function replace(i, alternative) {
  const c = state.chars[i];
  const original = c.original || { char: c.char, confidence: c.confidence };
  state.chars[i] = { ...c, char: alternative.char, confidence: alternative.confidence, original, edited: alternative.char !== original.char };
  state.open = -1;
  $("alternatives").hidden = true;
  renderPassword();
  $("password").querySelector(`.ch[data-index="${i}"]`)?.focus();
  say(`Character ${i + 1} is now ${spoken(alternative.char)}.`);
}

function renderCandidates(reading, text) {
  const list = $("candidates");
  list.replaceChildren();
  const others = (reading.candidates || []).filter((c) => c && typeof c.text === "string" && c.text !== text);
  for (const c of others) {
    const li = document.createElement("li");
    const b = document.createElement("button");
    b.type = "button";
    b.className = "button";
    b.textContent = c.text;
    b.setAttribute("aria-label", `Use ${c.text.split("").map(spoken).join(", ")}`);
    b.addEventListener("click", () => useText(c.text, c.confidence));
    const p = document.createElement("span");
    p.className = "prob";
    p.textContent = percent(c.confidence);
    li.append(b, p);
    list.append(li);
  }
  $("candidates-box").hidden = others.length === 0;
}

// A whole photo's answer ({lines, password: {..., line, why}, pairs}): every line found, numbered
// from 0 as the CLI and the JSON number them, the pick marked, and other networks' passwords too.
function renderLines(data, text, pickIndex) {
  const list = $("lines");
  list.replaceChildren();
  const lines = Array.isArray(data && data.lines) ? data.lines : [];
  const pairs = new Set((Array.isArray(data && data.pairs) ? data.pairs : []).slice(1).map((p) => p.line));
  lines.forEach((line, index) => {
    const lineText = typeof line === "string" ? line : (line.words ?? line.text ?? line.reading?.text ?? "");
    const li = document.createElement("li");
    const isPick = pickIndex >= 0 ? index === pickIndex
      : line.pick === true || line.password === true || (lineText !== "" && lineText === text);
    if (isPick) li.className = "picked";
    else if (pairs.has(index)) li.className = "pair";
    const span = document.createElement("span");
    span.className = "text";
    span.textContent = lineText;
    li.append(span);
    if (typeof line.confidence === "number") {
      const p = document.createElement("span");
      p.className = "prob";
      p.textContent = percent(line.confidence);
      li.append(p);
    }
    list.append(li);
  });
  $("lines-box").hidden = lines.length === 0;
}

function useText(text, confidence) {
  state.chars = [...text].map((ch) => ({ char: ch, confidence: undefined, alternatives: [], confusable: false }));
  renderPassword();
  $("meta").textContent = `candidate · probability ${percent(confidence)} · ${[...text].length} characters`;
  say(`Showing a candidate: ${[...text].length} characters.`); // the live region never speaks the password
}

async function copy() {
  const text = currentText();
  let copied = false;
  try {
    await navigator.clipboard.writeText(text);
    copied = true;
  } catch {
    // Over plain http on a phone there is no clipboard API: copy from a selected text field instead.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    try { copied = document.execCommand("copy") === true; } catch { /* nothing more to try */ }
    area.remove();
    $("copy").focus();
  }
  $("copied").textContent = copied ? "Copied." : "Could not copy: select the text after “As text” and copy it.";
  setTimeout(() => { $("copied").textContent = ""; }, 4000);
}

function firstImage(items) {
  for (const item of items || []) {
    if (item.kind === "file" && item.type.startsWith("image/")) return item.getAsFile();
  }
  return null;
}

// A site built without the in-page reader (pwocr serve where npm was not available) reads on its server, and says so.
async function startReading() {
  let site = { in_page: false, server: false };
  try {
    site = await (await fetch("site.json")).json();
  } catch { /* no site description: nothing to read with here */ }
  state.serverKnown = findServer(site);
  const cached = offlineCopy();
  if (site.in_page) {
    $("live").hidden = !(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
    return startReader(cached);
  }
  await state.serverKnown;
  state.device = "absent";
  readOnlyOnServer();
  showPrivacy();
  if (!state.server) fail("This page cannot read photos: it was built without its reader, and no server answers.");
  document.body.dataset.reader = "server";
  return { read: () => Promise.reject(new Error("this site reads on its server only")) };
}

// ---------------------------------------------------------------- live camera

// The band of each frame that is read (the .guide box in style.css): the password's line goes there.
const GUIDE = { left: 0.05, top: 0.38, width: 0.9, height: 0.24 };
// The fused reading is taken once it has stayed the same over LIVE_FRAMES frames in a row, at least
// LIVE_CONFIDENCE probable, with no character in doubt (flagged by most frames); a reading with a
// character in doubt is taken after LIVE_PATIENCE frames in a row, its doubtful characters highlighted.
const LIVE_FRAMES = 3;
const LIVE_PATIENCE = 8;
const LIVE_CONFIDENCE = 0.5;

const live = { stream: null, running: false, last: "", agree: 0 };

function guideFrame(video) {
  const w = Math.round(video.videoWidth * GUIDE.width);
  const h = Math.round(video.videoHeight * GUIDE.height);
  const canvas = new OffscreenCanvas(w, h);
  const context = canvas.getContext("2d", { willReadFrequently: true });
  context.drawImage(video, video.videoWidth * GUIDE.left, video.videoHeight * GUIDE.top, w, h, 0, 0, w, h);
  const pixels = context.getImageData(0, 0, w, h);
  return { data: pixels.data, width: w, height: h };
}

async function startLive() {
  if (live.running) return;
  const choices = optionsOrFail();
  if (!choices) return;
  $("error").textContent = "";
  try {
    live.stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment", width: { ideal: 1920 } }, audio: false });
  } catch (e) {
    fail(`The camera could not start (${e.message}): take a photo instead.`);
    return;
  }
  const video = $("live-video");
  video.srcObject = live.stream;
  await video.play();
  $("live-box").hidden = false;
  live.running = true;
  live.last = "";
  live.agree = 0;
  await (await state.reader).forget();
  $("live-status").textContent = "Looking for the password…";
  while (live.running) {
    if (!video.videoWidth) { await new Promise((resolve) => setTimeout(resolve, 100)); continue; }
    let answer;
    try {
      answer = await (await state.reader).frame(guideFrame(video), choices);
    } catch (e) {
      stopLive();
      fail(`Could not read the camera: ${e.message}`);
      return;
    }
    const { reading, frames } = answer;
    if (!live.running) break;
    $("live-status").textContent = reading.text ? `${reading.text}  ·  ${frames} frame${frames === 1 ? "" : "s"}, ${percent(reading.confidence)}` : "Looking for the password…";
    live.agree = reading.text && reading.text === live.last ? live.agree + 1 : 1;
    live.last = reading.text;
    const firm = frames >= LIVE_FRAMES && live.agree >= LIVE_FRAMES && reading.confidence >= LIVE_CONFIDENCE;
    const doubt = reading.chars.some((c) => c.confusable);
    if (firm && (!doubt || live.agree >= LIVE_PATIENCE)) {
      stopLive();
      show(reading);
      say(readSummary(reading, false));
      $("meta").textContent += ` · fused from ${frames} camera frames`;
      return;
    }
  }
}

function stopLive() {
  live.running = false;
  for (const track of live.stream ? live.stream.getTracks() : []) track.stop();
  live.stream = null;
  $("live-box").hidden = true;
}

function start() {
  // The reader, once the page knows how it reads (site.json): a photo chosen before then waits for it.
  state.reader = startReading();
  if (navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
    $("live").addEventListener("click", () => (readsOnServer() ? fail("The camera reads on this device: choose “on this device” in Options.") : startLive()));
    $("live-stop").addEventListener("click", stopLive);
  }
  const fromHash = new URLSearchParams(location.hash.slice(1)).get("token");
  if (fromHash) {
    saveToken(fromHash);
    history.replaceState(null, "", location.pathname + location.search);
  }
  for (const input of $("where").querySelectorAll("input")) input.addEventListener("change", showPrivacy);
  $("take").addEventListener("click", () => $("camera").click());
  $("choose").addEventListener("click", () => $("file").click());
  for (const id of ["camera", "file"]) {
    $(id).addEventListener("change", (e) => {
      read(e.target.files[0]);
      e.target.value = "";
    });
  }
  $("copy").addEventListener("click", copy);
  $("again").addEventListener("click", () => $("choose").focus() || $("choose").click());
  $("save-token").addEventListener("click", () => {
    saveToken($("token").value.trim());
    $("auth").hidden = true;
    say("Token saved: read the photo again.");
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && state.open >= 0) closeAlternatives();
  });
  document.addEventListener("paste", (e) => {
    const file = firstImage(e.clipboardData && e.clipboardData.items);
    if (file) { e.preventDefault(); read(file); }
  });
  const drop = $("drop");
  document.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  document.addEventListener("dragleave", (e) => { if (!e.relatedTarget) drop.classList.remove("over"); });
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    const files = e.dataTransfer && e.dataTransfer.files;
    if (files && files.length) read(files[0]);
  });
}

start();
