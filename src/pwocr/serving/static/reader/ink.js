// What a line crop's pixels say beyond the model's reading: pwocr.layout.ink in JavaScript. Word
// gaps (runs of ink-free columns between the CTC frames of two characters, Otsu's threshold) and
// characters read over no ink. A crop is a gray image {data, width, height, channels: 1}; a table
// is {probs (Float32Array, steps x classes, blank at 0), steps, classes}.

import { argmaxPath, characterSpans } from "./decode.js";
import { median } from "./geometry.js";
import { otsuThreshold } from "./imaging.js";
import { colourToGray } from "./preprocess.js";

// gray_crop: a line crop in gray along its own main colour axis (colour_to_gray), a gray one as it is.
export function grayCrop(crop) {
  if (crop.channels === 1) return crop;
  return { data: colourToGray(crop.data, crop.width, crop.height), width: crop.width, height: crop.height, channels: 1 };
}

// inked_columns: which columns of a gray line crop hold ink (Otsu's threshold; ink is the minority of pixels).
export function inkedColumns(crop) {
  const { data, width, height } = crop;
  const threshold = otsuThreshold(data);
  let brightCount = 0;
  for (let i = 0; i < data.length; i++) if (data[i] > threshold) brightCount++;
  const inkIsBright = brightCount / data.length < 0.5;
  const minimum = Math.max(1, 0.03 * height);
  const inked = new Array(width);
  for (let x = 0; x < width; x++) {
    let count = 0;
    for (let y = 0; y < height; y++) if ((data[y * width + x] > threshold) === inkIsBright) count++;
    inked[x] = count > minimum;
  }
  return inked;
}

// greedy_spans: the first and last frame of each character of the greedy CTC reading.
export function greedySpans(table) {
  return characterSpans(argmaxPath(table.probs, table.steps, table.classes));
}

// char_onsets: where each character of the greedy reading starts across the line (0 to 1) whose first `frames` frames span it.
export function charOnsets(table, frames) {
  return greedySpans(table).map(([first]) => Math.min(1.0, first / frames));
}

// ink._longest_blank: the longest run of ink-free columns in [x0, x1].
function longestBlank(inked, x0, x1) {
  let run = 0;
  let best = 0;
  for (let x = Math.max(0, x0); x < Math.min(inked.length, x1 + 1); x++) {
    run = inked[x] ? 0 : run + 1;
    best = Math.max(best, run);
  }
  return best;
}

// spaced_text: `text` with a space wherever the crop shows a word gap between two characters.
export function spacedText(crop, table, text, frames, spacing) {
  const spans = greedySpans(table);
  if (spans.length !== text.length || text.length < 2) return text;
  const { width: w, height: h } = crop;
  const inked = inkedColumns(crop);
  frames = frames || table.steps;
  const blanks = [];
  for (let k = 1; k < text.length; k++) {
    // Read over the padding after the line: the crop's right margin is no word gap.
    if (spans[k][0] >= frames) {
      blanks.push(null);
      continue;
    }
    const x0 = Math.trunc(((spans[k - 1][1] + 1) / frames) * w);
    const x1 = Math.trunc((spans[k][0] / frames) * w);
    blanks.push(longestBlank(inked, x0, x1));
  }
  // A word gap: at least space_gap crop heights, and word_gap_ratio times the line's median gap
  // (where it has median_gaps gaps or more).
  const measured = blanks.filter((b) => b !== null);
  const typical = measured.length >= spacing.median_gaps ? median(measured) : 0;
  const wide = Math.max(spacing.space_gap * h, spacing.word_gap_ratio * typical);
  const gaps = blanks.map((b) => b !== null && b >= wide);
  if (gaps.filter(Boolean).length > gaps.length / 2) return text; // a letter-spaced field, not words
  return text[0] + gaps.map((gap, k) => (gap ? " " : "") + text[k + 1]).join("");
}

// Whether any column in [from, to) holds ink (a slice of Python's, so an empty range holds none).
function anyInk(inked, from, to) {
  for (let x = Math.max(0, from); x < Math.min(to, inked.length); x++) if (inked[x]) return true;
  return false;
}

// inkless_characters: for each character of the greedy reading, whether it was read where the crop
// has no ink at all (one read over the padding, past `frames`, is the line's last, read late: real);
// `reach`: also look this many frames to the left of each character's frames.
export function inklessCharacters(crop, table, frames, reach = 0) {
  const w = crop.width;
  const inked = inkedColumns(crop);
  return greedySpans(table).map(([first, last]) => {
    const x0 = Math.trunc(((first - reach) / frames) * w);
    const x1 = Math.trunc(((last + 1) / frames) * w);
    return first < frames && !anyInk(inked, Math.max(0, x0), Math.max(x0 + 1, x1));
  });
}

// How many of `inkless` lead with true, or 0 when all do (ink not found where Otsu looked).
function leadingInkless(inkless) {
  const count = inkless.findIndex((blank) => !blank);
  return count === -1 ? 0 : count;
}

// phantoms_at: how many characters from `start` on were read where the crop has no ink at all.
export function phantomsAt(crop, table, start, frames) {
  return leadingInkless(inklessCharacters(crop, table, frames).slice(start));
}

// trailing_phantoms: how many characters before `end` (the value's end) were read where the crop has no
// ink; a thin mark read a frame after its ink keeps that ink (reach 1).
export function trailingPhantoms(crop, table, end, frames) {
  return leadingInkless(inklessCharacters(crop, table, frames, 1).slice(0, end).reverse());
}

// spelt_words: spaced_text as a person reads the line: a character read over no ink is the gap it
// stands in; where most characters seem inkless, the text stays.
export function speltWords(crop, table, text, frames, spacing) {
  frames = frames || table.steps;
  const spaced = spacedText(crop, table, text, frames, spacing);
  const inkless = inklessCharacters(crop, table, frames);
  // A model that reads spaces spells its own gaps.
  if (text.includes(" ") || inkless.length !== text.length || inkless.filter(Boolean).length * 2 >= text.length) {
    return spaced;
  }
  let k = 0;
  const out = [...spaced].map((c) => (c === " " || !inkless[k++] ? c : " ")).join("");
  return out.split(" ").filter(Boolean).join(" ");
}

// value_table: the frames of a line's table that read characters start to end (the value, without its label).
export function valueTable(table, start, end = null) {
  const spans = greedySpans(table);
  const { steps, classes, probs } = table;
  if (start >= spans.length) return { probs: probs.subarray(steps * classes), steps: 0, classes };
  const first = start > 0 ? spans[start][0] : 0;
  // probs[first:last], which is empty where last comes before first.
  const last = Math.max(first, end !== null && end < spans.length ? spans[end][0] : steps);
  return { probs: probs.subarray(first * classes, last * classes), steps: last - first, classes };
}
