// From the model's log-probabilities to a reading: pwocr.inference.recognizer.tempered_probabilities,
// pwocr.decoding.ctc (greedy), pwocr.decoding.confidence (string probability, per-character
// confidence and look-alike flags), in JavaScript, step for step, so a reading here is the reading
// `pwocr recognize` prints. A table is a Float32Array of steps x classes, blank at class 0.

const BLANK = 0;
const BLANK_SYMBOL = "-";

// softmax(log_probs / temperature) per step, in float32 as NumPy computes it.
export function temperedProbabilities(logProbs, steps, classes, temperature) {
  const out = new Float32Array(steps * classes);
  if (temperature === 1) {
    for (let i = 0; i < out.length; i++) out[i] = Math.exp(logProbs[i]);
    return out;
  }
  const scaled = new Float32Array(classes);
  for (let t = 0; t < steps; t++) {
    let max = -Infinity;
    for (let c = 0; c < classes; c++) {
      scaled[c] = logProbs[t * classes + c] / temperature;
      if (scaled[c] > max) max = scaled[c];
    }
    let total = 0;
    for (let c = 0; c < classes; c++) {
      scaled[c] = Math.exp(Math.fround(scaled[c] - max));
      total = Math.fround(total + scaled[c]);
    }
    for (let c = 0; c < classes; c++) out[t * classes + c] = scaled[c] / total;
  }
  return out;
}

export function argmaxPath(probs, steps, classes) {
  const path = new Array(steps);
  for (let t = 0; t < steps; t++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probs[t * classes + c] > probs[t * classes + best]) best = c;
    path[t] = best;
  }
  return path;
}

// CTC's many-to-one map: merge repeated labels, then drop blanks.
export function collapse(path) {
  const out = [];
  let previous = BLANK;
  for (const label of path) {
    if (label !== previous && label !== BLANK) out.push(label);
    previous = label;
  }
  return out;
}

// The first and last frame of each character a path spells (decoding.ctc.character_spans).
export function characterSpans(path) {
  const spans = [];
  let previous = BLANK;
  path.forEach((label, t) => {
    if (label !== BLANK && label === previous && spans.length) spans[spans.length - 1][1] = t;
    else if (label !== BLANK) spans.push([t, t]);
    previous = label;
  });
  return spans;
}

export function greedyDecode(probs, steps, classes, alphabet) {
  const path = argmaxPath(probs, steps, classes);
  const labels = collapse(path);
  return {
    path,
    labels,
    text: labels.map((l) => alphabet[l - 1]).join(""),
    raw: path.map((l) => (l === BLANK ? BLANK_SYMBOL : alphabet[l - 1])).join(""),
  };
}

function extended(labels) {
  const states = new Array(2 * labels.length + 1).fill(BLANK);
  labels.forEach((l, i) => { states[2 * i + 1] = l; });
  const canSkip = states.map((s, i) => i >= 3 && i % 2 === 1 && s !== states[i - 2]);
  return { states, canSkip };
}

// The CTC probability of one labelling (the forward algorithm, rescaled at each step).
export function stringProbability(probs, steps, classes, labels) {
  const { states, canSkip } = extended(labels);
  const n = states.length;
  let alpha = new Float64Array(n);
  for (let s = 0; s < Math.min(2, n); s++) alpha[s] = probs[states[s]];
  let logScale = 0;
  for (let t = 1; t < steps; t++) {
    let total = 0;
    for (let s = 0; s < n; s++) total += alpha[s];
    if (total <= 0) return 0;
    const next = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      let value = alpha[s] / total;
      if (s >= 1) value += alpha[s - 1] / total;
      if (s >= 2 && canSkip[s]) value += alpha[s - 2] / total;
      next[s] = value * probs[t * classes + states[s]];
    }
    logScale += Math.log(total);
    alpha = next;
  }
  const end = alpha[n - 1] + (n > 1 ? alpha[n - 2] : 0);
  return end > 0 ? Math.exp(Math.log(end) + logScale) : 0;
}

// For each label, the step where its best path emits it most surely (decoding.confidence.align_labels).
function alignLabels(probs, steps, classes, labels, greedyPath) {
  if (!labels.length) return [];
  const greedyLabels = collapse(greedyPath);
  if (greedyLabels.length === labels.length && greedyLabels.every((l, i) => l === labels[i])) {
    return characterSpans(greedyPath).map(([first, last], i) => {
      let best = first;
      for (let t = first + 1; t <= last; t++) if (probs[t * classes + labels[i]] > probs[best * classes + labels[i]]) best = t;
      return best;
    });
  }
  return viterbiAlignment(probs, steps, classes, labels);
}

function viterbiAlignment(probs, steps, classes, labels) {
  const { states, canSkip } = extended(labels);
  const n = states.length;
  const log = (t, s) => Math.log(Math.max(probs[t * classes + states[s]], 1e-30));
  let score = new Float64Array(n).fill(-Infinity);
  score[0] = log(0, 0);
  score[1] = log(0, 1);
  const back = Array.from({ length: steps }, () => new Int8Array(n));
  for (let t = 1; t < steps; t++) {
    const next = new Float64Array(n);
    for (let s = 0; s < n; s++) {
      const options = [score[s], s >= 1 ? score[s - 1] : -Infinity, s >= 2 && canSkip[s] ? score[s - 2] : -Infinity];
      let best = 0;
      for (let k = 1; k < 3; k++) if (options[k] > options[best]) best = k;
      back[t][s] = best;
      next[s] = options[best] + log(t, s);
    }
    score = next;
  }
  let s = score[n - 1] >= score[n - 2] ? n - 1 : n - 2;
  const path = new Array(steps);
  for (let t = steps - 1; t >= 0; t--) {
    path[t] = s;
    s -= back[t][s];
  }
  const bestStep = new Map();
  path.forEach((state, t) => {
    if (state % 2 === 1) {
      const i = (state - 1) / 2;
      const label = labels[i];
      if (!bestStep.has(i) || probs[t * classes + label] > probs[bestStep.get(i) * classes + label]) bestStep.set(i, t);
    }
  });
  return labels.map((_, i) => bestStep.get(i) ?? 0);
}

// Characters that share a look-alike group with `char` (pwocr.lookalikes.lookalikes_of), from the groups Python exports.
function lookalikesOf(char, groups) {
  const out = new Set();
  for (const group of Object.values(groups)) {
    if (group.includes(char)) for (const c of group) if (c !== char) out.add(c);
  }
  return out;
}

// The `count` most probable other characters at one step (allowed ones only, under constraints).
function rivalsAt(row, alphabet, char, count, allowed) {
  const order = Array.from({ length: alphabet.length }, (_, k) => k).sort((a, b) => row[b + 1] - row[a + 1]);
  const rivals = [];
  for (const k of order) {
    const c = alphabet[k];
    if (c === char || (allowed && !allowed.has(c))) continue;
    rivals.push([c, row[k + 1]]);
    if (rivals.length === count) break;
  }
  return rivals;
}

// Positions next to a gap where a frame gives `mass` to characters the reading does not have there
// (confidence._beside_missing): a gap is the frames strictly between two characters' steps (or before
// the first, after the last); what they give to the neighbours (once, if the same character) and the
// blank is the reading's, the rest is the trace of a dropped character. In float32, as NumPy sums it.
function besideMissing(probs, steps, classes, labels, at, mass, allowedColumns) {
  const flagged = new Set();
  if (!labels.length) return flagged;
  const stepSet = new Set(at);
  const counted = (label) => label > 0 && (!allowedColumns || allowedColumns.includes(label));
  const worst = new Array(labels.length + 1).fill(-Infinity);
  let gap = 0;
  for (let t = 0; t < steps; t++) {
    while (gap < at.length && at[gap] < t) gap++;
    if (stepSet.has(t)) continue;
    const row = t * classes;
    const left = gap > 0 ? labels[gap - 1] : 0;
    const right = gap < labels.length ? labels[gap] : 0;
    let other;
    if (!allowedColumns) other = Math.fround(1 - probs[row]);
    else other = pairwiseSum(allowedColumns.map((c) => probs[row + c]));
    if (counted(left)) other = Math.fround(other - probs[row + left]);
    if (counted(right) && right !== left) other = Math.fround(other - probs[row + right]);
    if (other > worst[gap]) worst[gap] = other;
  }
  worst.forEach((value, g) => {
    if (value >= mass) for (const i of [g - 1, g]) if (i >= 0 && i < labels.length) flagged.add(i);
  });
  return flagged;
}

// NumPy's float32 sum of a short row (pairwise summation: eight accumulators below 128 values).
function pairwiseSum(values) {
  const f = Math.fround;
  if (values.length < 8) return values.reduce((total, v) => f(total + v), 0);
  const r = values.slice(0, 8).map(f);
  let i = 8;
  for (; i + 8 <= values.length; i += 8) for (let k = 0; k < 8; k++) r[k] = f(r[k] + values[i + k]);
  let total = f(f(f(r[0] + r[1]) + f(r[2] + r[3])) + f(f(r[4] + r[5]) + f(r[6] + r[7])));
  for (; i < values.length; i++) total = f(total + values[i]);
  return total;
}

// Each character's probability at its step, its best rivals, the look-alikes the model finds nearly as
// likely, and whether it is flagged as unsure, by Python's FlagPolicy (confidence.char_confidences).
export function charConfidences(probs, steps, classes, alphabet, labels, greedyPath, model, options = {}) {
  const count = options.alternatives ?? 3;
  const allowed = options.allowed ? new Set(options.allowed) : null;
  const policy = model.flag_policy;
  const index = new Map(alphabet.map((c, i) => [c, i + 1]));
  const at = alignLabels(probs, steps, classes, labels, greedyPath);
  const allowedColumns = allowed ? alphabet.map((c, i) => (allowed.has(c) ? i + 1 : 0)).filter((i) => i > 0) : null;
  const besideAGap = besideMissing(probs, steps, classes, labels, at, policy.missing_mass, allowedColumns);
  return labels.map((label, position) => {
    const row = probs.subarray(at[position] * classes, (at[position] + 1) * classes);
    const char = alphabet[label - 1];
    const p = row[label];
    const rivals = rivalsAt(row, alphabet, char, count, allowed);
    let similar = [...lookalikesOf(char, model.lookalike_groups)].sort()
      .filter((c) => index.has(c))
      .map((c) => [c, row[index.get(c)]]);
    if (allowed) similar = similar.filter(([c]) => allowed.has(c));
    similar.sort((a, b) => b[1] - a[1]);
    const flagged = rivals.slice(0, 1).some(([, q]) => q >= policy.close_ratio * p)
      || similar.reduce((total, [, q]) => total + q, 0) >= policy.lookalike_ratio * p
      || row[0] >= policy.blank_ratio * p
      || besideAGap.has(position);
    const named = similar.filter(([, q]) => q >= policy.name_ratio * p);
    return { char, confidence: p, alternatives: rivals, confusable: flagged, lookalikes: named };
  });
}

// ---------------------------------------------------------------- look-alike swaps (decoding.swaps)

const SWAP_FLOOR = 1e-6;

// The `topK` most probable readings that differ from `labels` by one or two look-alikes, scored by the model.
export function lookalikeSwaps(probs, steps, classes, alphabet, labels, greedyPath, model, topK, allowed, proposals = 24) {
  if (!labels.length || topK < 1) return [];
  const index = new Map(alphabet.map((c, i) => [c, i + 1]));
  const at = alignLabels(probs, steps, classes, labels, greedyPath);
  const singles = [];
  labels.forEach((label, position) => {
    const p = Math.max(probs[at[position] * classes + label], 1e-30);
    for (const c of lookalikesOf(alphabet[label - 1], model.lookalike_groups)) {
      if (!index.has(c) || (allowed && !allowed.has(c))) continue;
      const ratio = probs[at[position] * classes + index.get(c)] / p;
      if (ratio >= SWAP_FLOOR) singles.push([Math.log(ratio), position, index.get(c)]);
    }
  });
  // heapq.nlargest over (log ratio, position, label) tuples.
  singles.sort((a, b) => b[0] - a[0] || b[1] - a[1] || b[2] - a[2]);
  const best = singles.slice(0, proposals);
  const combos = best.map(([score, position, label]) => [score, [[position, label]]]);
  best.forEach(([scoreA, posA, labA], i) => {
    for (const [scoreB, posB, labB] of best.slice(i + 1)) {
      if (posA !== posB) combos.push([scoreA + scoreB, [[posA, labA], [posB, labB]]]);
    }
  });
  combos.sort((a, b) => b[0] - a[0]);
  // A swap that puts two equal characters side by side with no blank frame between them cannot be read: dropped.
  const found = combos.slice(0, proposals).map(([, swaps]) => {
    const row = [...labels];
    for (const [position, label] of swaps) row[position] = label;
    return { text: row.map((l) => alphabet[l - 1]).join(""), confidence: stringProbability(probs, steps, classes, row), labels: row };
  }).filter((c) => c.confidence > 0);
  found.sort((a, b) => b.confidence - a.confidence);
  return found.slice(0, topK);
}

// ---------------------------------------------------------------- format prior (decoding.formats)

// formats.shape_of: each upper-case letter A, lower-case a, digit 0; any other character as it is.
export function shapeOf(text) {
  return [...text].map((c) => (/\p{Lu}/u.test(c) ? "A" : /\p{Ll}/u.test(c) ? "a" : /\p{Nd}/u.test(c) ? "0" : c)).join("");
}

// FormatPrior from a model's config, or null where it has none (the shipped model).
function formatPrior(config) {
  const shapes = config.formats || [];
  if (!shapes.length || !(config.format_weight > 0) || !(config.format_floor > 0)) return null;
  return { logShares: new Map(shapes.map(([shape, share]) => [shape, Math.log(share)])), logFloor: Math.log(config.format_floor), floor: config.format_floor, weight: config.format_weight };
}

// FormatPrior.score: log P(string) + weight * log P(shape).
function priorScore(prior, c) {
  return Math.log(Math.max(c.confidence, 1e-300)) + prior.weight * (prior.logShares.get(shapeOf(c.text)) ?? prior.logFloor);
}

// FormatPrior.rank: distinct candidates by text (the more probable kept), by log P(string) + weight * log P(shape).
function rankByPrior(prior, candidates) {
  const distinct = new Map();
  for (const c of candidates) {
    const kept = distinct.get(c.text);
    if (kept === undefined || c.confidence > kept.confidence) distinct.set(c.text, c);
  }
  return [...distinct.values()].map((c) => [priorScore(prior, c), c]).sort((a, b) => b[0] - a[0] || b[1].confidence - a[1].confidence).map(([, c]) => c);
}

// FormatPrior.posterior: each ranked candidate's probability under the model and the prior, normalised over
// the candidates and the model's mass outside them (as of a shape never seen).
function posterior(prior, ranked) {
  const weights = ranked.map((c) => Math.exp(priorScore(prior, c)));
  const sum = (values) => values.reduce((total, v) => total + v, 0);
  const outside = Math.max(0, 1 - sum(ranked.map((c) => c.confidence))) * prior.floor ** prior.weight;
  const total = sum(weights) + outside;
  if (!(total > 0)) return ranked;
  return ranked.map((c, i) => ({ ...c, confidence: weights[i] / total }));
}

// The `count` most probable candidates with distinct texts, none equal to `exclude` (policy.best_distinct).
function bestDistinct(candidates, count, exclude) {
  const seen = new Set([exclude]);
  const out = [];
  for (const c of [...candidates].sort((a, b) => b.confidence - a.confidence)) {
    if (!seen.has(c.text)) {
      seen.add(c.text);
      out.push(c);
    }
  }
  return out.slice(0, count);
}

// ---------------------------------------------------------------- constraints (decoding.constraints)

const LITERAL_PREFIX = "literal:";

// alphabet.resolve_charset: a name (digits), names joined by +, or a literal set; characters in first-seen order.
export function resolveCharset(spec, named) {
  let chars;
  const parts = spec.split("+");
  if (spec.startsWith(LITERAL_PREFIX)) chars = spec.slice(LITERAL_PREFIX.length);
  else if (parts.every((part) => Object.hasOwn(named, part))) chars = parts.map((part) => named[part]).join("");
  else if (spec && /^[A-Za-z+-]+$/.test(spec)) {
    const unknown = parts.find((part) => !Object.hasOwn(named, part));
    throw new Error(`unknown charset name '${unknown}'; names: ${Object.keys(named).join(", ")} (joined with +), or ${LITERAL_PREFIX}<characters> for a literal set`);
  } else chars = spec;
  if (!chars) throw new Error("empty character set");
  return [...new Set(chars)].join("");
}

// pwocr.options' bounds (MAX_CANDIDATES, MAX_LENGTH_OPTION), as the CLI and the API enforce them: the page
// refuses a value out of them before reading, and the reader refuses it too, so that no value (candidates
// 1e6, a length of 100000) can make the beam search run for minutes.
export const MAX_CANDIDATES = 50;
export const MAX_LENGTH_OPTION = 256;

// The option `key` as a whole number from `low` to `high`; null when it is not given; else a one-line error.
function wholeOption(options, key, low, high) {
  const value = options[key];
  if (value === undefined || value === null || value === "") return null;
  const n = typeof value === "string" && !/^\s*[+-]?\d+\s*$/.test(value) ? NaN : Number(value);
  if (!Number.isInteger(n) || n < low || n > high) throw new Error(`${key} must be a whole number from ${low} to ${high}, not ${value}`);
  return n;
}

// Constraints.from_options: null when the options constrain nothing; a one-line error when they contradict.
export function constraintsFrom(options, model) {
  const length = wholeOption(options, "length", 1, MAX_LENGTH_OPTION);
  const minLength = wholeOption(options, "min_length", 0, MAX_LENGTH_OPTION);
  const maxLength = wholeOption(options, "max_length", 1, MAX_LENGTH_OPTION);
  // A space is a + (an unencoded + in a query string arrives as a space), as the server reads it.
  const allowed = options.charset ? resolveCharset(String(options.charset).replaceAll(" ", "+"), model.named_charsets) : null;
  if (length !== null && (minLength !== null || maxLength !== null)) throw new Error("length cannot be combined with min_length or max_length");
  if (allowed !== null && ![...allowed].some((c) => model.config.alphabet.includes(c))) {
    throw new Error("charset: none of its characters are in the model's alphabet");
  }
  const low = length !== null ? length : minLength || 0;
  const high = length !== null ? length : maxLength;
  if (high !== null && high < low) throw new Error(`min_length ${low} is above max_length ${high}`);
  if (allowed === null && low === 0 && high === null) return null;
  return { allowed, minLength: low, maxLength: high };
}

// constrain_probs: each step's probability of forbidden characters moved onto the allowed ones, in proportion.
function constrainProbs(probs, steps, classes, alphabet, allowed) {
  if (allowed === null) return probs;
  const keep = new Uint8Array(classes);
  keep[BLANK] = 1;
  for (const c of allowed) {
    const i = alphabet.indexOf(c);
    if (i >= 0) keep[i + 1] = 1;
  }
  const kept = keep.slice(1).reduce((a, b) => a + b, 0);
  const out = new Float64Array(steps * classes);
  for (let t = 0; t < steps; t++) {
    const row = t * classes;
    if (kept === 0) { out[row] = 1; continue; }
    const nonBlank = 1 - probs[row];
    let allowedMass = 0;
    for (let c = 1; c < classes; c++) if (keep[c]) allowedMass += probs[row + c];
    out[row] = probs[row];
    for (let c = 1; c < classes; c++) {
      if (!keep[c]) continue;
      out[row + c] = allowedMass > 1e-12 ? probs[row + c] * (nonBlank / allowedMass) : nonBlank / kept;
    }
  }
  return out;
}

// ---------------------------------------------------------------- beam search (decoding.beam)

// The `width` most probable prefixes; with a minimum length, also the best two of each length.
function keepBest(beams, width, perLength) {
  const ranked = [...beams.entries()].sort((a, b) => b[1].total() - a[1].total());
  const kept = new Map(ranked.slice(0, width));
  if (perLength) {
    const count = new Map();
    for (const [key, value] of ranked.slice(width)) {
      const n = value.prefix.length;
      const have = count.has(n) ? count.get(n) : [...kept.values()].filter((v) => v.prefix.length === n).length;
      if (have < 2) {
        kept.set(key, value);
        count.set(n, have + 1);
      }
    }
  }
  return kept;
}

class Beam {
  constructor(prefix) { this.prefix = prefix; this.blank = 0; this.label = 0; }
  total() { return this.blank + this.label; }
}

// prefix_beam_search: the topK most probable distinct strings under the constraints, each scored by the model's own CTC probability.
export function prefixBeamSearch(probs, steps, classes, alphabet, { topK = 5, beamWidth = 16, prune = 1e-3, constraints = null } = {}) {
  const allowed = constraints ? constraints.allowed : null;
  const maxLength = constraints && constraints.maxLength !== null ? constraints.maxLength : Infinity;
  const minLength = constraints ? constraints.minLength : 0;
  const shaped = constrainProbs(probs, steps, classes, alphabet, allowed);
  const start = new Beam([]);
  start.blank = 1;
  let beams = new Map([["", start]]);
  for (let t = 0; t < steps; t++) {
    const row = t * classes;
    const blank = shaped[row];
    const tried = [];
    for (let c = 1; c < classes; c++) if (prune <= 0 || shaped[row + c] >= prune) tried.push(c);
    const remaining = steps - t - 1;
    const following = new Map();
    const at = (prefix) => {
      const key = prefix.join(",");
      if (!following.has(key)) following.set(key, new Beam(prefix));
      return following.get(key);
    };
    for (const beam of beams.values()) {
      const { prefix } = beam;
      const total = beam.blank + beam.label;
      const same = at(prefix);
      same.blank += total * blank;
      if (prefix.length) same.label += beam.label * shaped[row + prefix[prefix.length - 1]];
      if (prefix.length >= maxLength) continue;
      for (const c of tried) {
        const p = shaped[row + c];
        const extended = [...prefix, c];
        const gain = prefix.length && c === prefix[prefix.length - 1] ? beam.blank * p : total * p;
        if (extended.length + remaining < minLength) continue;
        at(extended).label += gain;
      }
    }
    beams = keepBest(following, beamWidth, minLength > 0);
  }
  const finals = [...beams.values()]
    .filter((b) => minLength <= b.prefix.length && b.prefix.length <= maxLength)
    .map((b) => ({
      text: b.prefix.map((l) => alphabet[l - 1]).join(""),
      confidence: stringProbability(probs, steps, classes, b.prefix),
      labels: b.prefix,
    }));
  finals.sort((a, b) => b.confidence - a.confidence);
  return finals.slice(0, topK);
}

// ---------------------------------------------------------------- the decoder policy (Recognizer.decode)

// Round as the JSON of `pwocr recognize --json` does (Python's round(x, 6)).
const round6 = (x) => Math.round(x * 1e6) / 1e6;

// One table to the JSON shape of Reading.as_dict(), by the decoder policy (decoding.policy.decode_table):
// the greedy path without constraints, the constrained beam search's best with them; top-k
// candidates beside it, from the beam and from look-alike swaps of the reading; with a format
// prior (a fine-tune's), the best of the pool by the prior's score.
export function decodeReading(probs, steps, classes, model, options = {}) {
  const r = decodeLabelled(probs, steps, classes, model, options);
  return asJson(r.best, r.raw, r.found, r.chars);
}

// decodeReading's result before it becomes JSON: the best candidate, all candidates with their labels, the characters.
// withPrior false reads as if the model had no format prior (Recognizer.decode's with_prior).
export function decodeLabelled(probs, steps, classes, model, options, withPrior = true) {
  const alphabet = [...model.config.alphabet];
  const candidates = wholeOption(options, "candidates", 1, MAX_CANDIDATES) ?? 1;
  const constraints = constraintsFrom(options, model);
  const greedy = greedyDecode(probs, steps, classes, alphabet);
  const prior = withPrior ? formatPrior(model.config) : null;
  const searched = prior ? Math.max(candidates, model.format_pool) : candidates;
  let found = [];
  if (searched > 1 || constraints) {
    found = prefixBeamSearch(probs, steps, classes, alphabet, { topK: searched, beamWidth: Math.max(16, searched), constraints });
  }
  let best;
  if (constraints) {
    if (!found.length) return { best: { text: "", confidence: 0, labels: [] }, raw: greedy.raw, found: [], chars: [] };
    best = found[0];
  } else {
    best = { text: greedy.text, confidence: stringProbability(probs, steps, classes, greedy.labels), labels: greedy.labels };
  }
  const allowed = constraints && constraints.allowed !== null ? new Set(constraints.allowed) : null;
  if (prior) {
    const swaps = lookalikeSwaps(probs, steps, classes, alphabet, best.labels, greedy.path, model, searched - 1, allowed);
    const ranked = posterior(prior, rankByPrior(prior, [best, ...found, ...swaps]));
    best = ranked[0];
    found = ranked.slice(0, candidates);
  } else if (candidates > 1) {
    const swaps = lookalikeSwaps(probs, steps, classes, alphabet, best.labels, greedy.path, model, candidates - 1, allowed);
    found = [best, ...bestDistinct([...found, ...swaps], candidates - 1, best.text)];
  } else {
    found = [best];
  }
  const chars = charConfidences(probs, steps, classes, alphabet, best.labels, greedy.path, model, { allowed });
  return { best, raw: greedy.raw, found, chars };
}

// The JSON shape of Reading.as_dict() (less the image's name).
export function asJson(best, raw, found, chars) {
  return {
    text: best.text,
    raw,
    confidence: round6(best.confidence),
    candidates: found.map((c) => ({ text: c.text, confidence: round6(c.confidence) })),
    chars: chars.map((c) => ({
      char: c.char,
      confidence: round6(c.confidence),
      alternatives: c.alternatives.map(([char, q]) => ({ char, confidence: round6(q) })),
      confusable: c.confusable,
      lookalikes: c.lookalikes.map(([char, q]) => ({ char, confidence: round6(q) })),
    })),
  };
}

// ---------------------------------------------------------------- fusing frames (decoding.fusion)

const PROPOSALS = 8;

// fuse_candidates: the proposals with the highest geometric mean of their CTC probabilities over the frames.
function fuseCandidates(tables, proposals, topK) {
  const pool = new Map();
  for (const c of proposals) {
    const key = c.labels.join(",");
    if (!pool.has(key)) pool.set(key, c);
  }
  const byLength = new Map();
  for (const c of pool.values()) {
    if (!byLength.has(c.labels.length)) byLength.set(c.labels.length, []);
    byLength.get(c.labels.length).push(c);
  }
  const fused = [];
  for (const group of byLength.values()) {
    for (const c of group) {
      let total = 0;
      for (const t of tables) total += Math.log(stringProbability(t.probs, t.steps, t.classes, c.labels));
      const score = total / tables.length;
      fused.push({ text: c.text, confidence: Number.isFinite(score) ? Math.exp(score) : 0, labels: c.labels });
    }
  }
  fused.sort((a, b) => b.confidence - a.confidence);
  return fused.slice(0, topK);
}

// fuse_characters: each character as the frames see it, mean probabilities, flagged when most frames flag it.
function fuseCharacters(tables, alphabet, labels, model, allowed) {
  const perFrame = tables.map((t) => charConfidences(t.probs, t.steps, t.classes, alphabet, labels, argmaxPath(t.probs, t.steps, t.classes), model, { allowed }));
  const count = perFrame.length;
  return labels.map((label, position) => {
    const views = perFrame.map((frame) => frame[position]);
    const rivals = new Map();
    const named = new Map();
    for (const view of views) {
      for (const [c, q] of view.alternatives) rivals.set(c, (rivals.get(c) || 0) + q / count);
      for (const [c, q] of view.lookalikes) {
        if (!named.has(c)) named.set(c, []);
        named.get(c).push(q);
      }
    }
    return {
      char: alphabet[label - 1],
      confidence: views.reduce((total, view) => total + view.confidence, 0) / count,
      alternatives: [...rivals.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3),
      confusable: 2 * views.filter((view) => view.confusable).length > count,
      lookalikes: [...named.entries()].filter(([, qs]) => 2 * qs.length >= count).map(([c, qs]) => [c, qs.reduce((a, b) => a + b, 0) / qs.length]),
    };
  });
}

// Recognizer.read_fused: one reading from several frames' tables ({probs, steps, classes}) of one password line.
export function fuseReadings(tables, model, options = {}) {
  const alphabet = [...model.config.alphabet];
  const candidates = wholeOption(options, "candidates", 1, MAX_CANDIDATES) ?? 1;
  const constraints = constraintsFrom(options, model);
  const readings = tables.map((t) => decodeLabelled(t.probs, t.steps, t.classes, model, { ...options, candidates: Math.max(candidates, PROPOSALS) }));
  const proposed = readings.flatMap((r) => r.found);
  const prior = formatPrior(model.config);
  const found = prior ? posterior(prior, rankByPrior(prior, fuseCandidates(tables, proposed, proposed.length))).slice(0, candidates) : fuseCandidates(tables, proposed, candidates);
  if (!found.length) return { text: "", raw: readings[0].raw, confidence: 0, candidates: [], chars: [] };
  const best = found[0];
  const allowed = constraints && constraints.allowed !== null ? new Set(constraints.allowed) : null;
  return asJson(best, readings[0].raw, found, fuseCharacters(tables, alphabet, best.labels, model, allowed));
}
