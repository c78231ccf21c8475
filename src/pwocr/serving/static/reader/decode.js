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

function argmaxPath(probs, steps, classes) {
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
function characterSpans(path) {
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

// Characters that share a look-alike group with `char`.
function confusableWith(char, groups) {
  const out = new Set();
  for (const group of Object.values(groups)) {
    if (group.includes(char)) for (const c of group) if (c !== char) out.add(c);
  }
  return out;
}

// Each character's probability at its step, its best rivals, and whether it is worth a second look.
export function charConfidences(probs, steps, classes, alphabet, labels, greedyPath, groups, options = {}) {
  const alternatives = options.alternatives ?? 3;
  const closeRatio = options.closeRatio ?? 0.2;
  const allowed = options.allowed ? new Set(options.allowed) : null;
  const steps_ = alignLabels(probs, steps, classes, labels, greedyPath);
  return labels.map((label, i) => {
    const row = probs.subarray(steps_[i] * classes, (steps_[i] + 1) * classes);
    const char = alphabet[label - 1];
    const order = Array.from({ length: classes - 1 }, (_, k) => k).sort((a, b) => row[b + 1] - row[a + 1]);
    const rivals = [];
    for (const k of order) {
      const c = alphabet[k];
      if (c === char || (allowed && !allowed.has(c))) continue;
      rivals.push([c, row[k + 1]]);
      if (rivals.length === alternatives) break;
    }
    const p = row[label];
    const group = confusableWith(char, groups);
    const close = rivals.slice(0, 1).some(([, q]) => q >= closeRatio * p)
      || rivals.some(([c, q]) => group.has(c) && q >= 0.5 * closeRatio * p);
    return { char, confidence: p, alternatives: rivals, confusable: close };
  });
}

// Round as the JSON of `pwocr recognize --json` does (Python's round(x, 6)).
const round6 = (x) => Math.round(x * 1e6) / 1e6;

// One table to the JSON shape of Reading.as_dict(): the greedy reading, its probability, each character.
export function decodeReading(probs, steps, classes, model) {
  const alphabet = [...model.config.alphabet];
  const greedy = greedyDecode(probs, steps, classes, alphabet);
  const confidence = stringProbability(probs, steps, classes, greedy.labels);
  const chars = charConfidences(probs, steps, classes, alphabet, greedy.labels, greedy.path, model.confusable_groups);
  return {
    text: greedy.text,
    raw: greedy.raw,
    confidence: round6(confidence),
    candidates: [{ text: greedy.text, confidence: round6(confidence) }],
    chars: chars.map((c) => ({
      char: c.char,
      confidence: round6(c.confidence),
      alternatives: c.alternatives.map(([char, q]) => ({ char, confidence: round6(q) })),
      confusable: c.confusable,
    })),
  };
}
