// Whole-photo reading: pwocr.reader's line-or-photo decision and pwocr.layout.photo's read_boxes in
// JavaScript. Find the text lines (detector.js), order, join and widen them (geometry.js),
// straighten and read each with pwocr's model, read labels with PP-OCRv6's recognizer where pwocr
// cannot (labels.js), pick the password (password.js) and answer with the JSON of
// `pwocr recognize --json` on a photo: {image, turned, lines, password, pairs}.
//
// The worker hands in `reader`: {model (model.json), rules (model/photo.json), detect(gray) -> boxes,
// table(image) -> {probs, steps, classes, features} (pwocr's tempered probabilities and features),
// labels(gray, table, frames) -> {text, starts} (PP-OCRv6's reading of a line),
// upsideDown(inputs) -> each line's probability of reading upside down (PP-OCR's text-angle classifier)}.

import { asJson, constraintsFrom, decodeLabelled } from "./decode.js";
import { boxAsList, boxHeight, boxWidth, cropLine } from "./detector.js";
import {
  codePoints,
  findLabel,
  isAlpha,
  isAscii,
  isCombining,
  isSpace,
  pyLen,
  pyStrip,
  spellableValueEnd,
} from "./clues.js";
import { joinFragments, readingOrder, withMargins } from "./geometry.js";
import { luminance, rot90 } from "./imaging.js";
import { charOnsets, grayCrop, phantomsAt, spacedText, speltWords, trailingPhantoms, valueTable } from "./ink.js";
import { unturnBox, uprightTurns } from "./orientation.js";
import { pickPairs } from "./password.js";
import { widthFor } from "./preprocess.js";

// reader._line_sized: whether an image's size alone makes it a line crop (model.json's "line_sized").
export function lineSized(width, height, limits) {
  return height <= limits.max_height || (width / height >= limits.min_aspect && height <= limits.max_wide_height);
}

// reader._line_or_photo for an image that is not line-sized: whether the detector's boxes say it is one line.
export function looksLikeLine(boxes, width, height) {
  if (boxes.length === 0) return true; // nothing found: read the whole image as one line
  if (boxes.length > 1) {
    const big = boxes.filter((b) => boxHeight(b) > 0.25 * height);
    return big.length === 1 && boxWidth(big[0]) * boxHeight(big[0]) > 0.5 * width * height;
  }
  return boxWidth(boxes[0]) * boxHeight(boxes[0]) > 0.3 * width * height;
}

// Recognizer.line_frames: how many leading frames of an H x W line's table cover the line (ModelConfig.output_length).
function lineFrames(model, height, width) {
  const w = widthFor(model.config, height, width);
  return model.lcnet_frames ? Math.floor(Math.floor((Math.floor((w + 1) / 2) + 1) / 2) / 2) : Math.floor(w / 4) + 1;
}

// photo._SecondReadings: PP-OCRv6's reading of each line, read once, when first asked (from the line's
// features where the reader reads them, else from its gray crop).
class SecondReadings {
  constructor(reader, read) {
    this.reader = reader;
    this.lines = read;
    this.read = new Map();
  }

  get(k) {
    const { crops, tables, frames } = this.lines;
    if (!this.read.has(k)) this.read.set(k, this.reader.labels(crops[k], tables[k], frames[k]));
    return this.read.get(k);
  }

  // Line k as words: PP-OCRv6's reading where it spells what pwocr read (adding only spaces and accents)
  // or a script pwocr cannot spell; else pwocr's reading as words, `ours`.
  async words(k, ours) {
    const theirs = pyStrip((await this.get(k)).text);
    return theirs && (sameLetters(theirs, ours) || otherScript(theirs)) ? theirs : ours;
  }
}

// photo._same_letters: the same characters but spaces and accents, where pwocr may also have left out an
// accented letter its alphabet lacks.
export function sameLetters(theirs, ours) {
  const target = codePoints(ours.replaceAll(" ", ""));
  let reachable = new Set([0]); // how much of target theirs' characters so far can spell
  for (const c of codePoints(theirs)) {
    if (isSpace(c)) continue;
    const decomposed = c.normalize("NFKD");
    const base = codePoints(decomposed).filter((d) => !isCombining(d));
    const spelt = new Set();
    for (const i of reachable) {
      if (base.every((d, j) => target[i + j] === d)) spelt.add(i + base.length);
    }
    if (base.join("") !== decomposed) for (const i of reachable) spelt.add(i);
    reachable = spelt;
    if (!reachable.size) return false;
  }
  return reachable.has(target.length);
}

// photo._unspaced_values: line k's text as the picker saw it, each value picked in it without word gaps.
export function unspacedValues(text, picks, k) {
  let points = codePoints(text);
  for (const pick of picks.filter((p) => p.line === k).sort((a, b) => b.start - a.start)) {
    const value = points.slice(pick.start, pick.end).filter((c) => c !== " ");
    points = [...points.slice(0, pick.start), ...value, ...points.slice(pick.end)];
  }
  return points.join("");
}

// photo._other_script: letters no accent-stripping makes ASCII (kana, hanzi, Cyrillic).
function otherScript(text) {
  return codePoints(text).some((c) => isAlpha(c) && !isAscii(codePoints(c.normalize("NFKD"))[0]));
}

// photo._label_text: the text the picker sees for one line, and how an index into it maps to an index into the reading.
async function labelText(k, table, reading, spaced, second, frames, rules) {
  const plain = [spaced, (i) => i - (spaced.slice(0, i).split(" ").length - 1)];
  if (reading.confidence >= rules.label_reader_below || findLabel(spaced).kind) return plain;
  const other = await second.get(k);
  const found = findLabel(other.text);
  if (!found.kind) return plain;
  const onsets = charOnsets(table, frames);
  const text = reading.text;
  if (found.after) {
    // The value ends where the separator before the label starts; pwocr's characters before it.
    const end = spellableValueEnd(other.text, found.end);
    const x = end < other.starts.length ? other.starts[end] : 1.0;
    let cut = onsets.findIndex((f) => f >= x);
    if (cut < 0) cut = text.length;
    return [`${text.slice(0, cut)} → ${found.label}`, (i) => Math.min(i, cut)];
  }
  const prefix = `${found.label}: `;
  if (found.start >= pyLen(other.text)) return [pyStrip(prefix), () => text.length];
  const x = other.starts.length ? other.starts[found.start] - 0.5 / Math.max(pyLen(other.text), 1) : 0.0;
  let first = onsets.findIndex((f) => f >= x);
  if (first < 0) first = text.length;
  const shift = pyLen(prefix);
  return [prefix + text.slice(first), (i) => first + Math.max(0, i - shift)];
}

// Constraints.admits: whether a string meets the constraints (constraintsFrom's {allowed, minLength, maxLength}).
function admits(constraints, text) {
  const cs = codePoints(text);
  if (constraints.allowed !== null && cs.some((c) => !constraints.allowed.includes(c))) return false;
  return cs.length >= constraints.minLength && (constraints.maxLength === null || cs.length <= constraints.maxLength);
}

// photo._admissible: with constraints, a line whose whole reading breaks them keeps only its label part.
function admissible(facts, constraints) {
  if (constraints === null) return facts;
  return facts.map((f) => {
    const found = findLabel(f.text);
    const value = pyStrip(codePoints(f.text).slice(found.start, found.end).join(""));
    const ok = !value || admits(constraints, value);
    return ok || found.kind ? f : { ...f, confidence: f.confidence - 2.0 };
  });
}

// photo.nearly_a_number: at least 8 characters, all digits but one or two letters that fonts draw like digits.
function nearlyANumber(text, lookalikes) {
  const others = [...text].filter((c) => !/^[0-9]$/.test(c));
  return text.length >= 8 && others.length >= 1 && others.length <= 2 && others.every((c) => lookalikes.includes(c));
}

// What the model spells a word gap with, alone after a gap at the end of a value (photo.GAP_MARK).
const GAP_MARK = / [_~.,'`-]$/u;

// photo.plausible_candidates: a reading's unlikely alternatives dropped.
function plausibleCandidates(decoded, plausible) {
  const [best, ...rest] = decoded.found;
  if (best === undefined) return decoded;
  const kept = rest.filter((c) => c.confidence >= plausible || c.text.length === best.text.length);
  return { ...decoded, found: [best, ...kept] };
}

// photo._password_of: the picked value decoded from its own frames of the line's table (label and name cut off).
function passwordOf(pick, read, toReading, options, constraints, model, rules) {
  const k = pick.line;
  let start = toReading(pick.start);
  let end = toReading(pick.end);
  if (start > 0) start += phantomsAt(read.crops[k], read.tables[k], start, read.frames[k]);
  if (GAP_MARK.test(pick.value)) end -= Math.min(1, trailingPhantoms(read.crops[k], read.tables[k], end, read.frames[k]));
  end = end >= read.readings[k].best.text.length ? null : Math.max(end, start + 1);
  const table = valueTable(read.tables[k], start, end);
  const candidates = options.candidates;
  const decode = (choices) => decodeLabelled(table.probs, table.steps, table.classes, model, choices);
  let value = decode(options);
  if (pick.label !== null && constraints === null && nearlyANumber(value.best.text, rules.digit_lookalikes)) {
    const digits = decode({ candidates, charset: "literal:0123456789" });
    if (digits.best.text && digits.best.confidence >= rules.number_prior * value.best.confidence) value = digits;
  }
  const shown = plausibleCandidates(value, rules.plausible);
  const { text, confidence, candidates: found, chars } = asJson(shown.best, shown.raw, shown.found, shown.chars);
  return { text, confidence, candidates: found, chars, line: k, why: pick.why, network: pick.network };
}

// photo.read_boxes: read the detected lines of a decoded photo ({data, width, height, channels}), then pick
// the password (and every network's). `options` are the page's: candidates and the password's constraints.
// A photo whose lines read surely as it stands (rules.surely_upright) is taken as upright. Elsewhere, where
// the text-angle classifier's vote says the text stands sideways or upside down, the photo is also read
// turned, its lines found again, and that reading kept if its lines read more surely (legibility); boxes are
// always in the pixels of the photo as it came (orientation.js).
export async function readBoxes(photo, name, boxes, options, reader) {
  const { legibility: asGivenLegibility, ...asGiven } = await readAsGiven(photo, boxes, options, reader, (box) => box);
  if (!reader.upsideDown || asGivenLegibility >= reader.rules.surely_upright) return { image: name, turned: 0, ...asGiven };
  const turns = await uprightTurns(luminance(photo), boxes, reader.upsideDown, reader.rules.angle_input);
  if (turns === 0) return { image: name, turned: 0, ...asGiven };
  const turned = rot90(photo, turns);
  const found = await reader.detect(luminance(turned));
  const back = (box) => unturnBox(box, turns, photo.width, photo.height);
  const { legibility, ...reading } = await readAsGiven(turned, found, options, reader, back);
  if (legibility <= asGivenLegibility) return { image: name, turned: 0, ...asGiven };
  return { image: name, turned: 90 * turns, ...reading };
}

// photo.legibility: the lines' confidences' mean, weighed by the lines' lengths (boxes as read).
function legibility(boxes, readings) {
  const lengths = boxes.map((box) => Math.max(boxWidth(box), boxHeight(box)));
  const total = lengths.reduce((a, b) => a + b, 0);
  return total ? lengths.reduce((sum, w, k) => sum + w * readings[k].best.confidence, 0) / total : 0.0;
}

// photo._read_as_given: read_boxes of the photo as it stands; `toPhoto` puts a box back
// in the pixels of the photo as it came.
async function readAsGiven(photo, boxes, options, reader, toPhoto) {
  const { model, rules } = reader;
  const constraints = constraintsFrom(options, model);
  const lineOptions = { candidates: options.candidates || 1 };
  // photo._read_lines: order, join, widen, straighten and read.
  const [order, found] = readingOrder(boxes);
  let [ordered, places] = joinFragments(order.map((k) => boxes[k]), found, rules);
  ordered = withMargins(ordered, places, photo.width, photo.height, rules);
  const straight = ordered.map((box) => cropLine(photo, box, 96, rules.line_read_height));
  const crops = straight.map(grayCrop);
  const tables = [];
  for (let i = 0; i < straight.length; i++) tables.push(await reader.table(model.config.in_channels === 3 ? straight[i] : crops[i]));
  // Read as they look (with_prior=False): a line's words, ink and value cut are aligned to its greedy path.
  const readings = tables.map((t) => decodeLabelled(t.probs, t.steps, t.classes, model, lineOptions, false));
  const frames = crops.map((c) => lineFrames(model, c.height, c.width));
  const read = { crops, tables, frames, readings };

  const second = new SecondReadings(reader, read);
  const spaced = readings.map((r, k) => spacedText(crops[k], tables[k], r.best.text, frames[k], rules));
  const seen = [];
  for (let k = 0; k < readings.length; k++) {
    seen.push(await labelText(k, tables[k], readings[k].best, spaced[k], second, frames[k], rules));
  }
  const facts = seen.map(([text], k) => ({ text, confidence: readings[k].best.confidence, ...places[k] }));
  const picks = pickPairs(admissible(facts, constraints), rules.weights);
  const passwords = picks.map((pick) => passwordOf(pick, read, seen[pick.line][1], { ...options, candidates: lineOptions.candidates }, constraints, model, rules));
  const values = new Set(picks.map((pick) => pick.line));
  const lines = [];
  for (let k = 0; k < readings.length; k++) {
    const r = readings[k];
    const words = values.has(k)
      ? unspacedValues(seen[k][0], picks, k)
      : await second.words(k, speltWords(crops[k], tables[k], r.best.text, frames[k], rules));
    const json = asJson(r.best, r.raw, r.found, r.chars);
    lines.push({
      box: boxAsList(toPhoto(ordered[k])),
      text: json.text,
      words: words || json.text,
      confidence: json.confidence,
      candidates: json.candidates,
      chars: json.chars,
    });
  }
  return { lines, password: passwords.length ? passwords[0] : null, pairs: passwords, legibility: legibility(ordered, readings) };
}
