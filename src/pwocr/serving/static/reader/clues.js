// What a line's text says about the password: pwocr.layout.clues in JavaScript. Labels before or
// after a value, pair separators, how password-like a string looks: pure functions of one line's
// text, on Python's terms. Python's strings are sequences of code points and its `re` classes are
// Unicode's, so here every index and length is in code points (PP-OCRv6 reads characters beyond
// the Basic Multilingual Plane) and every pattern spells Python's \s, \w, \d and \b out.
//
// The label tables are Python's own (model/photo.json, written by pwocr from pwocr.layout.clues):
// call useRules once before anything else.

// ---------------------------------------------------------------- Python's strings

// Python's str.isspace() and re's \s: whitespace by Unicode's bidirectional class or category Zs.
export const SPACE_CLASS = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const S = `[${SPACE_CLASS}]`;
// re's \w (str.isalnum() or "_"), [^\W\d_] (\w but digits and "_") and \d (decimal digits).
const WORD_CLASS = "\\p{L}\\p{N}_";
const LETTER = "[\\p{L}\\p{Nl}\\p{No}]";
const D = "\\p{Nd}";
// re's \b: between a \w and a non-\w character (or an end).
const B = `(?:(?<=[${WORD_CLASS}])(?![${WORD_CLASS}])|(?<![${WORD_CLASS}])(?=[${WORD_CLASS}]))`;

// The classes above, as pattern sources (tests hold them to Python's re over PP-OCRv6's dictionary).
export const PY_CLASSES = { space: S, word: `[${WORD_CLASS}]`, letter: LETTER, digit: D };

const SPACE_RE = new RegExp(`^${S}$`, "u");
const ALNUM_RE = /^[\p{L}\p{N}]$/u;
const ALPHA_RE = /^\p{L}$/u;
const DECIMAL_RE = /^\p{Nd}$/u;

// A string's code points (Python indexes strings by them; JavaScript by UTF-16 units).
export const codePoints = (text) => Array.from(text);
export const pyLen = (text) => codePoints(text).length;
export const pySlice = (text, start, end) => codePoints(text).slice(start, end).join("");
// The code point index of a UTF-16 offset into `text` (where a match starts or ends).
export const codePointAt = (text, offset) => pyLen(text.slice(0, offset));

export const isSpace = (c) => SPACE_RE.test(c);
export const isAlnum = (c) => ALNUM_RE.test(c);
export const isAlpha = (c) => ALPHA_RE.test(c);
export const isAscii = (c) => c.codePointAt(0) < 128;

let DIGITS_NOT_DECIMAL = new Set();
let COMBINING = [];

// str.isdigit(): every character a digit (decimal, or a superscript, circled... digit), and at least one.
export function isDigitString(text) {
  const cs = codePoints(text);
  return cs.length > 0 && cs.every((c) => DECIMAL_RE.test(c) || DIGITS_NOT_DECIMAL.has(c));
}

// unicodedata.combining(c) != 0: a combining mark with a non-zero canonical combining class.
export function isCombining(c) {
  const point = c.codePointAt(0);
  let low = 0;
  let high = COMBINING.length - 1;
  while (low <= high) {
    const mid = (low + high) >> 1;
    const [first, last] = COMBINING[mid];
    if (point < first) high = mid - 1;
    else if (point > last) low = mid + 1;
    else return true;
  }
  return false;
}

// str.strip(): whitespace, or the characters given, off both ends.
export function pyStrip(text, strip = null) {
  const cs = codePoints(text);
  const drop = strip === null ? isSpace : (c) => strip.includes(c);
  let start = 0;
  let end = cs.length;
  while (start < end && drop(cs[start])) start++;
  while (end > start && drop(cs[end - 1])) end--;
  return cs.slice(start, end).join("");
}

// ---------------------------------------------------------------- Python's tables

let PASSWORD_LABELS = new Map();
let PASSWORD_LABEL_POINTS = [];
let LABELS = [];
let NETWORK_LABELS = new Set();
let PREFACE = [];

// The tables of pwocr.layout.clues (model/photo.json's "clues"), and the Unicode facts JavaScript lacks.
export function useRules(rules) {
  PASSWORD_LABELS = new Map(rules.password_labels);
  PASSWORD_LABEL_POINTS = rules.password_labels.map(([label]) => codePoints(label));
  LABELS = rules.labels.map(([kind, label]) => [kind, label, codePoints(label)]);
  NETWORK_LABELS = new Set(rules.network_labels);
  PREFACE = rules.preface.map(codePoints);
  DIGITS_NOT_DECIMAL = new Set(codePoints(rules.digits_not_decimal));
  COMBINING = rules.combining;
}

// ---------------------------------------------------------------- patterns (clues.py's, spelt for JavaScript)

const SEPARATOR = new RegExp(`^${S}*[:：=]${S}*|^${S}+[-–—>|→⇒]${S}+|^${S}+`, "u");
const LONE_PUNCTUATION = new RegExp(`^${S}*[:;：.,=]?${S}*$`, "u");
const SUFFIX_GAP = new RegExp(
  `(${S}+(->|=>|<-|<=|[→⇒➔➜⟶←⇐⟵~>=:：–—\\-]{1,2})?${S}*|(->|=>|<-|<=)${S}+|${S}*[→⇒➔➜⟶←⇐⟵]${S}*|${S}*[(\\[（【]${S}*|[:：]${S}*)$`,
  "u",
);
const UNICODE_ARROWS = "→⇒➔➜⟶←⇐⟵";
const SUFFIX_OPENERS = codePoints("([（【:：>" + UNICODE_ARROWS);
// Python's re.IGNORECASE also takes dotless ı and dotted İ for an i (JavaScript's folding does not).
const URL = new RegExp(
  `(https?:|www\\.|\\.(com|org|net|de|fr|es|[iıİ]t|[iıİ]o|co|uk)${B}|${B}${D}{1,3}\\.${D}{1,3}\\.${D}{1,3}\\.${D}{1,3}${B})`,
  "iu",
);
const PRICE = new RegExp(`^[A-Za-z][A-Za-z ]*${S}?[$€£]?${D}{1,3}[.,]${D}{2}${S}?[$€£]?$`, "u");
const MAC = /^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/iu;
const DATE_TIME = new RegExp(
  `^${D}{1,2}[./:]${D}{2}([./]${D}{2,4})?$|${B}${D}{1,2}(:${D}{2})?${S}?(am|pm)${B}|${B}${D}{1,2}\\.${D}{1,2}\\.(19|20)${D}{2}${B}`,
  "iu",
);
const PAIR_SEPARATOR_SOURCE = `${S}+[/|｜]${S}*|${S}*[/|｜]${S}+|[,、]${S}+|${S}{2,}`;
const PAIR_SEPARATOR = new RegExp(PAIR_SEPARATOR_SOURCE, "gu");
const PAIR_COLON = new RegExp(`[:：]${S}+`, "gu");
const ANY_PAIR_SEPARATOR = new RegExp(`${PAIR_SEPARATOR_SOURCE}|[:：]${S}+`, "gu");
const NETWORK_NAME = new RegExp(
  `^(?:([^${WORD_CLASS}${SPACE_CLASS}]${S}+)?([${WORD_CLASS} .\\-]{1,8}[:：]${S}*)?[${WORD_CLASS} .\\-!&'+#]+)$`,
  "u",
);
const HEADER_SPLIT = new RegExp(`[${SPACE_CLASS}/|｜,、:：_]+`, "u");
const PLAIN_WORD = new RegExp(`^${LETTER}+$`, "u");
const OTHER_THAN_ALNUM = new RegExp(`[^A-Za-z0-9${SPACE_CLASS}]`, "u");
const ONE_WORD = /^[A-Z]?[a-z]+[!?.]?$/u;

// ---------------------------------------------------------------- labels

// A LabelSplit: {label, kind ("password", "other" or ""), weight, start, end, after}; the value is text[start:end].
function labelSplit(label, kind, weight, start, end, after = false) {
  return { label, kind, weight, start, end, after };
}

// LabelSplit.alone: the label stands alone, its value is elsewhere.
export function alone(split) {
  return Boolean(split.kind) && split.start >= split.end;
}

const SKIPPED = " \t-_./'’";

// _LONG_VOWEL_MISREADS: what OCR reads a katakana long vowel mark (ー) as: a hyphen or dash, or the kanji for one.
const LONG_VOWEL_MISREADS = "-－‐–—一";
const isKatakana = (c) => c >= "\u30a0" && c <= "\u30ff";

// normalise: lower case, accents and spacing removed (as code points), and for each kept character its index in
// `text`; a long vowel mark read as a dash or as 一 after katakana is one again (パスワ-ド, 暗号化キ一).
export function normalise(text) {
  const out = [];
  const index = [];
  codePoints(text).forEach((c, i) => {
    if (LONG_VOWEL_MISREADS.includes(c) && out.length && isKatakana(codePoints(out[out.length - 1]).at(-1))) {
      out.push("ー");
      index.push(i);
      return;
    }
    if (SKIPPED.includes(c)) return;
    // Latin letters lose their accents (ñ is n); kana and hangul keep theirs (パ is not ハ).
    const base = codePoints(c.normalize("NFKD"))[0];
    const kept = c === "ł" || c === "Ł" ? "l" : isAscii(base) ? base : c.normalize("NFKC");
    out.push(kept.toLowerCase());
    index.push(i);
  });
  return [codePoints(out.join("").replaceAll("ß", "ss")), index];
}

const same = (a, b) => a.length === b.length && a.every((c, i) => c === b[i]);

// close: equal, or one edit apart for labels of five letters or more (code point arrays).
export function close(a, b) {
  if (same(a, b)) return true;
  if (b.length < 5 || Math.abs(a.length - b.length) > 1) return false;
  let i = 0;
  while (i < Math.min(a.length, b.length) && a[i] === b[i]) i++;
  return same(a.slice(i + 1), b.slice(i + 1)) || same(a.slice(i), b.slice(i + 1)) || same(a.slice(i + 1), b.slice(i));
}

const startsWith = (text, prefix, at) => prefix.every((c, i) => text[at + i] === c);

// clues._skip_preface: where a password label starts after preface words (Wi-Fi, Guest, Wireless).
function skipPreface(norm) {
  let pos = 0;
  for (;;) {
    let moved = false;
    for (const word of PREFACE) {
      if (startsWith(norm, word, pos) && norm.length > pos + word.length) {
        const rest = norm.slice(pos + word.length);
        if (PASSWORD_LABEL_POINTS.some((label) => startsWith(rest, label, 0) || close(rest.slice(0, label.length), label))) {
          pos += word.length;
          moved = true;
          break;
        }
      }
    }
    if (!moved) return pos;
  }
}

function weight(kind, label) {
  return kind === "password" ? PASSWORD_LABELS.get(label) ?? 0.0 : 0.0;
}

// split_label: a known label at the start of `text` and where the value after it begins.
export function splitLabel(text) {
  const cs = codePoints(text);
  const [norm, index] = normalise(text);
  const pos = skipPreface(norm);
  for (const kind of ["password", "other"]) {
    for (const [k, label, points] of LABELS) {
      if (k !== kind) continue;
      for (const size of [points.length, points.length + 1, points.length - 1]) {
        const candidate = norm.slice(pos, pos + size);
        if (size < 1 || candidate.length !== size || (size !== points.length && points.length < 5)) continue;
        if (!close(candidate, points)) continue;
        if (pos + size - 1 >= index.length) {
          // Python's normalise gives one index per character it keeps, however many letters it makes of it
          // (ß is ss): there the label's end has no index and Python raises IndexError.
          throw new Error(`split_label(${JSON.stringify(text)}): index out of range, as in Python`);
        }
        const textEnd = index[pos + size - 1] + 1;
        const rest = cs.slice(textEnd).join("");
        const head = pyStrip(cs.slice(0, textEnd).join(""));
        if (LONE_PUNCTUATION.test(rest)) return labelSplit(head, kind, weight(kind, label), cs.length, cs.length);
        const separator = SEPARATOR.exec(rest);
        if (separator === null) continue; // no separator: "pwX7q..." is a password, not a label
        return labelSplit(head, kind, weight(kind, label), textEnd + pyLen(separator[0]), cs.length);
      }
    }
  }
  return labelSplit(null, "", 0.0, 0, cs.length);
}

// whole_label: [kind, label] when all of `text` (brackets and colons aside) is one known label, else null.
export function wholeLabel(text) {
  let norm = normalise(pyStrip(text, " \t:：)]）】([（【"))[0];
  norm = norm.slice(skipPreface(norm));
  for (const [kind, label, points] of LABELS) {
    if (norm.length && close(norm, points) && (norm.length === points.length || points.length >= 5)) return [kind, label];
  }
  return null;
}

// names_network: whether a found label (SSID:, Network name, ID) names a network.
export function namesNetwork(label) {
  const found = label ? wholeLabel(label) : null;
  return found !== null && NETWORK_LABELS.has(found[1]);
}

function plainWord(value) {
  return PLAIN_WORD.test(pyStrip(value));
}

// _spellable: a character pwocr's alphabet has, once compatibility forms are folded (a full-width ？ is ?).
const spellable = (c) => codePoints(c.normalize("NFKC")).every(isAscii);

// split_suffix_label: a known label after the value (12345678 → password, abc (PW)), or no label.
export function splitSuffixLabel(text) {
  const cs = codePoints(text);
  for (let p = 1; p < cs.length; p++) {
    // A label in another script may follow an ASCII value unspaced (k3!Qz8パスワード), whose last
    // character may be read in its full-width form (Cocumej5？暗号化キー).
    const scriptChange = !isAscii(cs[p]) && spellable(cs[p - 1]) && !isSpace(cs[p - 1]);
    if (!isAlnum(cs[p]) || !(isSpace(cs[p - 1]) || SUFFIX_OPENERS.includes(cs[p - 1]) || scriptChange)) continue;
    const tail = cs.slice(p).join("");
    const found = wholeLabel(tail);
    const head = cs.slice(0, p).join("");
    const gap = found ? SUFFIX_GAP.exec(head) : null;
    if (found === null || (gap === null && !scriptChange)) continue;
    const cut = gap !== null ? codePointAt(head, gap.index) : p;
    const value = cs.slice(0, cut).join("");
    const arrow = gap !== null && Boolean(pyStrip(gap[0]));
    if (!pyStrip(value) || (!arrow && plainWord(value))) continue;
    const [kind, label] = found;
    return labelSplit(pyStrip(tail, " \t:：)]）】"), kind, weight(kind, label), 0, cut, true);
  }
  return labelSplit(null, "", 0.0, 0, cs.length);
}

// spellable_value_end: where the value before a label after it ends in another model's reading, given
// split_suffix_label's cut `end`: before a misread head of the label (a run that starts with a
// character pwocr cannot spell and holds at most one it can, or at a Unicode arrow and holds at most
// two: a kana read as two strokes), less a separator before it, where that leaves a value
// (wa%82969:バ1スワード: the value is wa%82969; Digocusuz6→11スワード: Digocusuz6; /小\a@Zov keeps its 小).
export function spellableValueEnd(text, end) {
  const cs = codePoints(text);
  const spelt = (from) => cs.slice(from, end).filter((c) => spellable(c) && !isSpace(c)).length;
  let head = cs.slice(0, end).findIndex((c, i) => (!spellable(c) && spelt(i) <= 1) || (UNICODE_ARROWS.includes(c) && spelt(i) <= 2));
  if (head < 0) head = end;
  const before = cs.slice(0, head).join("");
  const gap = head < end ? SUFFIX_GAP.exec(before) : null;
  const cut = gap !== null ? codePointAt(before, gap.index) : head;
  return pyStrip(cs.slice(0, cut).join("")) ? cut : end;
}

// find_label: split_label's label before the value if there is one, else split_suffix_label's after it.
export function findLabel(text) {
  const before = splitLabel(text);
  return before.kind ? before : splitSuffixLabel(text);
}

// pair_segments: the [start, end] spans of a NAME / password line split at its separators (one span when there is none).
export function pairSegments(text, colon = true) {
  const n = pyLen(text);
  for (const pattern of colon ? [PAIR_SEPARATOR, PAIR_COLON] : [PAIR_SEPARATOR]) {
    const spans = [];
    let start = 0;
    for (const match of text.matchAll(pattern)) {
      const matchStart = codePointAt(text, match.index);
      if (matchStart > start) spans.push([start, matchStart]);
      start = codePointAt(text, match.index + match[0].length);
    }
    if (start < n) spans.push([start, n]);
    if (spans.length >= 2) return spans;
  }
  return [[0, n]];
}

// pair_split: where a NAME / password line's name ends and its password starts ([end, start]), or null.
export function pairSplit(text) {
  for (const match of [...text.matchAll(ANY_PAIR_SEPARATOR)].reverse()) {
    const name = pyStrip(text.slice(0, match.index));
    const value = text.slice(match.index + match[0].length);
    if (!name || pyLen(value.replaceAll(" ", "")) < 4 || !NETWORK_NAME.test(name)) continue;
    if (wholeLabel(name) === null) return [codePointAt(text, match.index), codePointAt(text, match.index + match[0].length)];
  }
  return null;
}

// header_kinds: the kind of each label of a column header line (ID / PW, SSID  Password), or null.
export function headerKinds(text) {
  const parts = text.split(HEADER_SPLIT).filter(Boolean);
  const kinds = parts.map(wholeLabel);
  if (parts.length < 2 || kinds.some((k) => k === null)) return null;
  return kinds.map((k) => k[0]);
}

// is_address_or_date: a web address, MAC address, date, time or price: never a password, whatever its label says.
export function isAddressOrDate(text) {
  const t = pyStrip(text);
  return URL.test(t) || MAC.test(t) || DATE_TIME.test(t) || PRICE.test(t);
}

// password_likeness: how much `text` looks like a password rather than a name, word, number or address (-3 to 2).
export function passwordLikeness(text) {
  const t = pyStrip(text);
  const n = pyLen(t);
  if (n < 4) return -2.0;
  if (isAddressOrDate(t)) return -3.0;
  const classes = [/[a-z]/u, /[A-Z]/u, /[0-9]/u, OTHER_THAN_ALNUM].filter((p) => p.test(t)).length;
  let score = 0.5 * (classes - 1);
  if (t.includes(" ")) score -= 0.5 * (t.split(" ").length - 1); // phrases and sentences
  if (isDigitString(t)) score -= n >= 8 ? 0.5 : 1.5; // room numbers, restroom and door codes
  if (ONE_WORD.test(t)) score -= 1.0; // one plain word: a title or a button
  if (t.endsWith("?")) score -= 1.0;
  if (n >= 8 && n <= 64) score += 0.5;
  return Math.max(-3.0, Math.min(2.0, score));
}
