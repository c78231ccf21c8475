// Which line of a photo is the password: pwocr.layout.password in JavaScript. Label evidence,
// layout and how password-like a string is, weighed as Python weighs them (PickerWeights, from
// model/photo.json), with the same reasons ("why") word for word.
//
// A line's facts are {text, confidence, row, left, right}; a pick is {line, start, end, value,
// label, why, score, network, structural}, start and end in code points of the line's text.

import {
  alone,
  findLabel,
  headerKinds,
  isAddressOrDate,
  namesNetwork,
  pairSegments,
  pairSplit,
  passwordLikeness,
  pyLen,
  pySlice,
  pyStrip,
} from "./clues.js";

const PHRASE = /^[\p{L}\p{Nl}\p{No}]+( [\p{L}\p{Nl}\p{No}]+)*[.!?]?$/u;

// Python's repr() of a string, as the reasons quote labels and names.
export function pyRepr(text) {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const c of text) {
    const point = c.codePointAt(0);
    if (c === quote || c === "\\") out += "\\" + c;
    else if (c === "\t") out += "\\t";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (point < 0x20 || point === 0x7f) out += "\\x" + point.toString(16).padStart(2, "0");
    else if (point >= 0x80 && c !== " " && /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Zs}]/u.test(c)) {
      // Not printable (str.isprintable): escaped as Python escapes it.
      if (point < 0x100) out += "\\x" + point.toString(16).padStart(2, "0");
      else if (point < 0x10000) out += "\\u" + point.toString(16).padStart(4, "0");
      else out += "\\U" + point.toString(16).padStart(8, "0");
    } else out += c;
  }
  return out + quote;
}

// Python's f"{x:+.1f}": a sign, one decimal, halves to even on the exact binary value.
export function signedTenths(x) {
  let text = Math.abs(x).toFixed(1);
  const tenths = Math.abs(x) * 10;
  if (Number.isInteger(Math.abs(x) * 4) && !Number.isInteger(Math.abs(x) * 2)) {
    const low = Math.floor(tenths);
    text = ((low % 2 === 0 ? low : low + 1) / 10).toFixed(1);
  }
  return (x < 0 || Object.is(x, -0) ? "-" : "+") + text;
}

// A parsed line: {label (a LabelSplit), start, end, name, spans, header}.
function parsed(label, start, end, name = null, spans = [], header = null) {
  return { label, start, end, name, spans, header };
}

const noLabel = (start, end) => ({ label: null, kind: "", weight: 0.0, start, end, after: false });

// password._parse_pair: the value of a NAME / value line, unless that value has its own password label.
function parsePair(text) {
  const split = pairSplit(text);
  if (split === null) return null;
  const head = findLabel(pySlice(text, 0, split[0]));
  const rest = findLabel(pySlice(text, split[1]));
  const name = pyStrip(pySlice(pySlice(text, 0, split[0]), head.start, head.end)) || null;
  const start = split[1];
  if (rest.kind === "password" && !alone(rest)) { // SSID: NAME / PW: value
    const shifted = { ...rest, start: start + rest.start, end: start + rest.end };
    return parsed(shifted, shifted.start, shifted.end, name);
  }
  const value = pyStrip(pySlice(text, start));
  if (rest.kind || head.kind === "password" || !name) return null;
  if (PHRASE.test(value)) return null; // words after a comma: a phrase, not a password
  const n = pyLen(text);
  return parsed(noLabel(start, n), start, n, name);
}

// parse_line: the clues of one line, a password label first, then a name/password pair, then any other label.
export function parseLine(text) {
  let whole = findLabel(text);
  const header = headerKinds(text);
  // ID_| PW: labels only (the model read the gap between them as _), not a value and its label.
  if (header !== null && whole.after) whole = noLabel(0, pyLen(text));
  if (whole.kind === "password") return parsed(whole, whole.start, whole.end);
  if (header === null && (whole.kind === "" || namesNetwork(whole.label))) {
    const pair = parsePair(text);
    if (pair !== null) return pair;
  }
  const spans = pairSegments(text, !whole.kind);
  return parsed(whole, whole.start, whole.end, null, spans, header);
}

// password._whole_lines_under_labels: a NAME / value-looking line right of or below a lone password label is all value.
function wholeLinesUnderLabels(lines, all) {
  const out = [...all];
  all.forEach((p, i) => {
    if (p.name === null || p.label.kind) return;
    const left = leftNeighbour(i, lines);
    const source = left !== null ? left : labelAbove(i, lines, all);
    if (source !== null && alone(all[source].label) && all[source].label.kind === "password") {
      const n = pyLen(lines[i].text);
      out[i] = parsed(noLabel(0, n), 0, n);
    }
  });
  return out;
}

function rowOf(lines, row) {
  return lines.map((line, j) => (line.row === row ? j : -1)).filter((j) => j >= 0);
}

function loneLabel(p) {
  return alone(p.label) || p.header !== null;
}

// password._left_neighbour: the nearest line left of line i in its row (centred left of its start).
function leftNeighbour(i, lines) {
  const line = lines[i];
  const left = rowOf(lines, line.row).filter((j) => (lines[j].left + lines[j].right) / 2 < line.left);
  if (!left.length) return null;
  return left.reduce((best, k) => (lines[k].right > lines[best].right ? k : best));
}

// password._label_above: a lone label over line i, in the row just above or at the head of its table column.
function labelAbove(i, lines, all) {
  const line = lines[i];
  const width = Math.max(line.right - line.left, 1.0);
  const inTable = rowOf(lines, line.row).length > 1;
  for (let row = line.row - 1; row >= 0; row--) {
    const above = rowOf(lines, row).filter((j) => Math.min(lines[j].right, line.right) - Math.max(lines[j].left, line.left) > -0.5 * width);
    if (!above.length) return null;
    const j = above.reduce((best, k) => (Math.abs(lines[k].left - line.left) < Math.abs(lines[best].left - line.left) ? k : best));
    if (alone(all[j].label)) return j;
    // Only a table (several boxes a row) is read up its column; a list's label is right above.
    if (all[j].label.kind || !inTable || rowOf(lines, row).length < 2) return null;
  }
  return null;
}

// password._header_column: for a NAME / value line under an ID / PW header, the password column and the header.
function headerColumn(i, lines, all) {
  const spans = all[i].spans;
  if (spans.length < 2) return null;
  for (let j = i - 1; j >= 0; j--) {
    const header = all[j].header;
    if (header !== null && header.length === spans.length && header.includes("password")) {
      return [header.indexOf("password"), pyStrip(lines[j].text)];
    }
    if (all[j].spans.length !== spans.length || all[j].label.kind) return null;
  }
  return null;
}

// password._second_of_pair: line i follows exactly one other unlabelled line, as a network name followed by its password.
function secondOfPair(i, lines, all) {
  if (i === 0) return false;
  const prev = lines[i - 1];
  if (all[i - 1].label.kind || prev.row !== lines[i].row - 1 || rowOf(lines, lines[i].row).length > 1) return false;
  return i === 1 || all[i - 2].label.kind !== "" || lines[i - 2].row !== prev.row - 1;
}

// password._network_before: the network a labelled password belongs to, the value of the nearest SSID-like label before it.
function networkBefore(i, lines, all) {
  for (let j = i - 1; j > Math.max(-1, i - 4); j--) {
    const label = all[j].label;
    if (label.kind === "password" && !alone(label)) return null; // another pair's password
    if (namesNetwork(label.label)) {
      const value = pyStrip(pySlice(lines[j].text, label.start, label.end));
      if (value) return value;
      return j + 1 < i && !all[j + 1].label.kind ? pyStrip(lines[j + 1].text) : null;
    }
  }
  return null;
}

// password._Evidence: the score and reasons of one line being built up.
class Evidence {
  constructor(network = null) {
    this.score = 0.0;
    this.reasons = null;
    this.label = null;
    this.network = network;
    this.structural = false;
    this.labelled = false;
  }

  add(score, reason, structural = false) {
    this.score += score;
    this.reasons = [...(this.reasons || []), reason];
    this.structural = this.structural || structural;
  }
}

// password._evidence_on_line: what the line itself says, a password or other label, a pair.
function evidenceOnLine(p, w) {
  const e = new Evidence(p.name);
  const label = p.label;
  const where = label.after ? "after it" : "on the same line";
  if (label.kind === "password") {
    e.add(label.weight, `labelled ${pyRepr(label.label)} ${where}`, true);
    e.label = label.label;
    e.labelled = true;
  } else if (label.kind === "other") {
    e.add(w.other_label, `labelled ${pyRepr(label.label)}, not a password label`);
  } else if (p.name !== null) {
    e.add(w.pair_on_line, `after ${pyRepr(p.name)} on a name/password line`, true);
  }
  return e.reasons ? e : null;
}

// password._evidence_around: what the lines around an unlabelled line say, a label left of it or above it, a name before it.
function evidenceAround(i, lines, all, w) {
  const e = new Evidence();
  const left = leftNeighbour(i, lines);
  let source;
  let where;
  if (left !== null && all[left].label.kind) {
    source = left;
    where = "right of";
  } else if (left !== null) {
    e.add(w.beside_name, `right of ${pyRepr(pyStrip(lines[left].text))} in its row`, true);
    e.network = pyStrip(lines[left].text);
    return e;
  } else {
    source = labelAbove(i, lines, all);
    where = "below";
  }
  if (source !== null && loneLabel(all[source])) {
    const label = all[source].label;
    if (label.kind === "password") {
      e.add(label.weight, `${where} the label ${pyRepr(label.label)}`, true);
      e.label = label.label;
      e.labelled = true;
    } else {
      e.add(w.other_label, `${where} the label ${pyRepr(label.label)}, not a password label`);
    }
  } else if (source === null && secondOfPair(i, lines, all) && passwordLikeness(lines[i - 1].text) > -2) {
    e.add(w.second_of_pair, "second of a name/password pair", true);
    e.network = pyStrip(lines[i - 1].text);
  }
  return e;
}

// password._score_line: line i scored as the password, or null when it holds no value (a label alone).
function scoreLine(i, lines, all, w) {
  const p = all[i];
  let { start, end } = p;
  let e = evidenceOnLine(p, w);
  if (e === null) {
    const column = headerColumn(i, lines, all);
    if (column !== null) {
      [start, end] = p.spans[column[0]];
      e = new Evidence();
      e.add(3.0, `under the ${pyRepr(column[1])} header`, true);
      e.labelled = true;
      if (column[0] > 0) e.network = pyStrip(pySlice(lines[i].text, ...p.spans[column[0] - 1]));
    } else {
      e = evidenceAround(i, lines, all, w);
    }
  }
  const value = pyStrip(pySlice(lines[i].text, start, end));
  if (!value || p.header !== null) return null;
  if (e.structural && e.network === null) e.network = networkBefore(i, lines, all);
  let likeness = passwordLikeness(value);
  // A value read with many gaps (r . /sje%l> ; , ?) looks like a phrase; its label says otherwise.
  if (e.labelled && !isAddressOrDate(value)) likeness = Math.max(likeness, w.labelled_looks_floor);
  const score = e.score + likeness + w.confidence * lines[i].confidence;
  const reasons = e.reasons || ["the most password-like line, without a label"];
  const why = [...reasons, `password-likeness ${signedTenths(likeness)}`].join("; ");
  return { line: i, start, end, value, label: e.label, why, score, network: e.network, structural: e.structural };
}

// rank_passwords: every line holding a value, scored as the password, best first.
export function rankPasswords(lines, weights) {
  const all = wholeLinesUnderLabels(lines, lines.map((line) => parseLine(line.text)));
  const scored = lines.map((_, i) => scoreLine(i, lines, all, weights)).filter((p) => p !== null);
  return scored.sort((a, b) => b.score - a.score);
}

// pick_pairs: every network's password on a sign that lists several, the pick first, then in reading order.
export function pickPairs(lines, weights) {
  const ranked = rankPasswords(lines, weights);
  if (!ranked.length) return [];
  const best = ranked[0];
  if (!best.structural) return [best];
  const others = ranked.slice(1).filter((p) => p.structural && p.score > 0).sort((a, b) => a.line - b.line);
  return [best, ...others];
}
