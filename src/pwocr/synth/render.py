"""Synthetic password lines: random strings rendered as screens, paper and stickers, then photographed.

Every effect draws its parameters from one ``numpy.random.Generator``, so a seed reproduces a sample
exactly. Work happens on small float32 RGB arrays with OpenCV; a line costs a few milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageDraw

from pwocr.alphabet import PRINTABLE_94
from pwocr.data.augment import jpeg
from pwocr.errors import PwocrError
from pwocr.lookalikes import LOOKALIKE_GROUPS
from pwocr.synth.fonts import FontSpec, fonts_for, load_font


@dataclass(frozen=True)
class SynthConfig:
    """What the synthetic stream draws from."""

    alphabet: str = PRINTABLE_94
    min_length: int = 6
    max_length: int = 20
    min_font_size: int = 22
    max_font_size: int = 48
    # Shares of each look; the rest of the probability mass is paper/sticker prints.
    dark_screen: float = 0.4
    light_screen: float = 0.2
    # Signs, plates and labels: coloured, textured or metal surfaces, painted, embossed or engraved.
    sign: float = 0.15
    # Shares of strings that are not uniform: passwords people choose (word-like, with digits and
    # symbols), and strings crowded with the glyphs fonts draw alike.
    chosen_strings: float = 0.25
    confusable_strings: float = 0.15
    # Real words, as signs, labels and the words inside passwords show them, drawn from a word list
    # (one word a line, e.g. Debian's /usr/share/dict/words); none when no list is given. This share
    # is drawn first; the chosen and confusable shares follow it, and uniform strings take the rest.
    word_strings: float = 0.0
    words_file: str | None = None
    # Lines with a fragment of the neighbouring line above or below, as loose crops of real photos have.
    neighbour_lines: float = 0.15
    # Lines as RGB photos (for a colour model) instead of gray ones.
    colour: bool = False


def random_password(rng: np.random.Generator, alphabet: str, min_length: int, max_length: int) -> str:
    """A string drawn uniformly from ``alphabet``: no words, so the model must learn every glyph."""
    length = int(rng.integers(min_length, max_length + 1))
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), length))


_CONSONANTS = "bcdfghjklmnprstvwyz"
_VOWELS = "aeiou"


def chosen_password(rng: np.random.Generator, min_length: int, max_length: int) -> str:
    """A password as people choose them: pronounceable word parts in some case, digits and a symbol.

    Made of syllables rather than a dictionary, so no word list ships and none is learnt as a prior.
    """
    words = []
    for _ in range(int(rng.integers(1, 3))):
        word = "".join(
            _CONSONANTS[rng.integers(0, len(_CONSONANTS))] + _VOWELS[rng.integers(0, len(_VOWELS))]
            for _ in range(int(rng.integers(1, 4)))
        )
        if rng.random() < 0.5:
            word += _CONSONANTS[rng.integers(0, len(_CONSONANTS))]
        case = rng.random()
        words.append(word.upper() if case < 0.3 else word.capitalize() if case < 0.75 else word)
    digits = "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(0, 5))))
    symbol = "!@#$%&*?._-+="[rng.integers(0, 13)] if rng.random() < 0.6 else ""
    parts = [*words, digits, symbol]
    order = rng.permutation(len(parts)) if rng.random() < 0.3 else range(len(parts))
    text = "".join(parts[i] for i in order)
    return (
        text[:max_length]
        if len(text) >= min_length
        else text + random_password(rng, "0123456789", min_length - len(text), min_length - len(text))
    )


def lookalike_string(rng: np.random.Generator, alphabet: str, min_length: int, max_length: int) -> str:
    """A string crowded with look-alikes, members of one group side by side (``l`` beside ``I`` beside ``|``).

    Seeing a font's ``l`` and ``I`` in one line is what teaches their difference in that font; the
    rest of the string is uniform over ``alphabet``.
    """
    allowed = set(alphabet)
    groups = [
        g for g in ("".join(c for c in group if c in allowed) for group in LOOKALIKE_GROUPS.values()) if len(g) > 1
    ]
    if not groups:
        return random_password(rng, alphabet, min_length, max_length)
    length = int(rng.integers(min_length, max_length + 1))
    out: list[str] = []
    while len(out) < length:
        if rng.random() < 0.7:
            group = groups[int(rng.integers(0, len(groups)))]
            run = int(rng.integers(2, min(4, len(group)) + 1))
            out.extend(group[i] for i in rng.choice(len(group), run, replace=False))
        else:
            out.append(alphabet[int(rng.integers(0, len(alphabet)))])
    text = "".join(out[:length])
    return text if text.strip() == text else random_password(rng, alphabet, min_length, max_length)


@lru_cache(maxsize=4)
def load_words(path: str) -> tuple[str, ...]:
    """The ASCII words of a word list, one a line (possessives and accented words left out)."""
    try:
        lines = Path(path).read_text(encoding="utf-8", errors="replace").split()
    except OSError as e:
        raise PwocrError(f"{path}: cannot read the word list ({e.strerror})") from None
    words = tuple(w for w in lines if w.isascii() and w.isalpha() and len(w) >= 2)
    if not words:
        raise PwocrError(f"{path}: no words in the word list")
    return words


def word_string(rng: np.random.Generator, words: Sequence[str], min_length: int, max_length: int) -> str:
    """One or two real words as signs and passwords show them: lower, Title or UPPER case, maybe digits or a mark."""
    text = ""
    while len(text) < min_length or not text:
        word = words[int(rng.integers(0, len(words)))]
        case = rng.random()
        word = word.upper() if case < 0.35 else word.capitalize() if case < 0.7 else word.lower()
        text += (" " if text and rng.random() < 0.3 else "") + word
    if rng.random() < 0.25:
        text += "".join(str(d) for d in rng.integers(0, 10, int(rng.integers(1, 5))))
    if rng.random() < 0.15:
        text += "!.?:%,-"[rng.integers(0, 7)]
    return text[:max_length].strip()


def sample_text(rng: np.random.Generator, config: SynthConfig) -> str:
    """A training string: uniform over the alphabet, person-chosen, confusable-heavy or words (shares in ``config``)."""
    r = rng.random()
    allowed = set(config.alphabet)
    words = config.word_strings if config.words_file else 0.0
    if r < words:
        text = word_string(rng, load_words(config.words_file), config.min_length, config.max_length)
        if " " not in allowed:
            text = text.replace(" ", "")  # words run together, as in passwords (``BlueSky24``)
    elif r < words + config.chosen_strings:
        text = chosen_password(rng, config.min_length, config.max_length)
    elif r < words + config.chosen_strings + config.confusable_strings:
        text = lookalike_string(rng, config.alphabet, config.min_length, config.max_length)
    else:
        return random_password(rng, config.alphabet, config.min_length, config.max_length)
    if all(c in allowed for c in text) and text.strip() == text:
        return text
    return random_password(rng, config.alphabet, config.min_length, config.max_length)


# ---------------------------------------------------------------- colours


def _luma(rgb: np.ndarray) -> float:
    return float(rgb @ np.array([0.299, 0.587, 0.114]))


def _pick_colours(rng: np.random.Generator, style: str) -> tuple[np.ndarray, np.ndarray]:
    """Background and text colours (0..1 RGB) with enough luminance contrast to be readable."""
    for _ in range(20):
        if style == "dark_screen":
            bg = rng.uniform(0.0, 0.25) + rng.uniform(-0.06, 0.06, 3)
            if rng.random() < 0.6:
                fg = rng.uniform(0.75, 1.0) + rng.uniform(-0.08, 0.04, 3)  # white-ish
            else:
                fg = rng.uniform(0.2, 1.0, 3)
                fg[rng.integers(0, 3)] = rng.uniform(0.85, 1.0)  # green terminal, cyan, amber...
        elif style == "light_screen":
            bg = rng.uniform(0.75, 1.0) + rng.uniform(-0.08, 0.04, 3)
            fg = rng.uniform(0.0, 0.3) + rng.uniform(-0.05, 0.05, 3) if rng.random() < 0.7 else rng.uniform(0.0, 0.6, 3)
        else:  # paper, sticker, label
            bg = rng.uniform(0.7, 1.0) + rng.uniform(-0.05, 0.02, 3)
            if rng.random() < 0.25:
                bg = rng.uniform(0.55, 1.0, 3)  # coloured label stock
            fg = rng.uniform(0.0, 0.35) + rng.uniform(-0.03, 0.03, 3)
        bg, fg = np.clip(bg, 0, 1), np.clip(fg, 0, 1)
        if abs(_luma(bg) - _luma(fg)) > 0.3:
            return bg.astype(np.float32), fg.astype(np.float32)
    return np.full(3, 0.05, np.float32), np.full(3, 0.95, np.float32)


# ---------------------------------------------------------------- text


def _draw_text(text: str, font_spec: FontSpec, size: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    """White-on-black text mask (float32 0..1) with margins, and the cap height used as a length scale."""
    mask, cap = _draw_plain(text, font_spec, size, rng)
    if rng.random() < 0.12:
        # Italic where the font has none: a horizontal shear about the middle row.
        h, w = mask.shape
        shear = rng.uniform(-0.3, 0.3)
        extra = int(abs(shear) * h) + 2
        matrix = np.float32([[1, -shear, extra / 2 + shear * h / 2], [0, 1, 0]])
        mask = cv2.warpAffine(mask, matrix, (w + extra, h), flags=cv2.INTER_LINEAR)
    return mask, cap


def _draw_plain(text: str, font_spec: FontSpec, size: int, rng: np.random.Generator) -> tuple[np.ndarray, float]:
    font = load_font(font_spec.path, size)
    ascent, descent = font.getmetrics()
    tracking = 0.0
    if rng.random() < 0.35:
        tracking = size * rng.uniform(-0.04, 0.3)  # letter-spaced password fields
    if tracking == 0.0:
        width = int(font.getlength(text))
    else:
        width = int(sum(font.getlength(c) for c in text) + tracking * (len(text) - 1))
    pad = size
    canvas = Image.new("L", (width + 2 * pad, ascent + descent + 2 * pad), 0)
    draw = ImageDraw.Draw(canvas)
    if tracking == 0.0:
        draw.text((pad, pad), text, font=font, fill=255)
    else:
        x = float(pad)
        for c in text:
            draw.text((x, pad), c, font=font, fill=255)
            x += font.getlength(c) + tracking
    mask = np.asarray(canvas, dtype=np.float32) * (1.0 / 255.0)
    if rng.random() < 0.15:
        k = max(1, round(size * rng.uniform(0.03, 0.07)))  # heavier strokes than the font's own
        mask = cv2.dilate(mask, np.ones((k, k), np.uint8))
    return mask, float(ascent)


def _with_neighbour(
    mask: np.ndarray, font: FontSpec, size: int, cap: float, rng: np.random.Generator, config: SynthConfig
) -> tuple[np.ndarray, int]:
    """Ink of another line above or below the text (the crop is still made around the text itself)."""
    other, _ = _draw_plain(random_password(rng, config.alphabet, 4, 24), font, size, rng)
    h, w = mask.shape
    gap = int(cap * rng.uniform(-0.25, 0.35))
    canvas_h = h + other.shape[0] + gap + 2
    neighbour = np.zeros((max(canvas_h, h), max(w, other.shape[1])), np.float32)
    above = rng.random() < 0.5
    x = int(rng.integers(-w // 3, w // 3 + 1))
    x0, x1 = max(0, x), min(neighbour.shape[1], x + other.shape[1])
    y_other = 0 if above else h + gap
    y_other = min(max(y_other, 0), neighbour.shape[0] - other.shape[0])
    if x1 > x0:  # a short neighbour shifted far left may miss the canvas altogether
        neighbour[y_other : y_other + other.shape[0], x0:x1] = other[:, x0 - x : x1 - x]
    return neighbour, (other.shape[0] + gap if above else 0)


def _sign(
    img: np.ndarray, mask: np.ndarray, bg: np.ndarray, fg: np.ndarray, scale: float, rng: np.random.Generator
) -> np.ndarray:
    """Signs, plates and labels: painted, embossed or engraved text on coloured, wood-like or brushed-metal stock."""
    h, w = mask.shape
    texture = rng.random()
    if texture < 0.35:
        # Brushed metal: noise smeared along one direction.
        noise = rng.standard_normal((h, w)).astype(np.float32)
        streaks = cv2.GaussianBlur(noise, (0, 0), sigmaX=scale * rng.uniform(0.5, 3.0), sigmaY=rng.uniform(0.3, 1.0))
        base = rng.uniform(0.45, 0.85)
        surface = np.clip(base + streaks[..., None] * rng.uniform(0.5, 1.5), 0, 1) * np.ones(3, np.float32)
    elif texture < 0.55:
        # Wood or card: low-frequency bands in a warm colour.
        xs = np.linspace(0, rng.uniform(3, 12), w, dtype=np.float32)[None, :]
        warp = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), scale * 0.5) * 3
        bands = 0.5 + 0.5 * np.sin(xs * np.pi + warp)
        tint = np.array([rng.uniform(0.5, 0.9), rng.uniform(0.35, 0.65), rng.uniform(0.15, 0.4)], np.float32)
        surface = tint * (0.8 + 0.2 * bands[..., None])
    else:
        surface = bg[None, None, :] * np.ones((h, w, 1), np.float32)
    if rng.random() < 0.4:
        # Embossed or engraved: the text is only a change of relief, light on one edge and shadow on the other.
        shift = max(1, round(scale * rng.uniform(0.03, 0.08)))
        dx, dy = rng.choice([-1, 1]) * shift, rng.choice([-1, 1]) * shift
        moved = np.roll(np.roll(mask, dy, 0), dx, 1)
        relief = (mask - moved) * rng.uniform(0.3, 0.6)
        inside = mask * rng.uniform(-0.15, 0.15)
        return surface + (relief + inside)[..., None]
    luma_gap = abs(_luma(fg) - float(surface.mean()))
    if luma_gap < 0.3:
        fg = np.clip(1.0 - fg, 0, 1) if float(surface.mean()) > 0.5 else np.clip(fg + 0.5, 0, 1)
    return surface * (1 - mask[..., None]) + fg * mask[..., None]


# ---------------------------------------------------------------- surface looks


def _screen(
    img: np.ndarray, mask: np.ndarray, fg: np.ndarray, scale: float, rng: np.random.Generator, dark: bool
) -> np.ndarray:
    h, w = mask.shape
    if dark and rng.random() < 0.75:
        # Glow and bloom: bright strokes spill light onto their neighbourhood.
        sigma = scale * rng.uniform(0.03, 0.15)
        glow = cv2.GaussianBlur(mask, (0, 0), sigma)
        img = img + rng.uniform(0.2, 0.9) * glow[..., None] * fg
    if rng.random() < 0.5:
        # Pixel grid: RGB sub-pixel stripes and dark gaps; resampling later turns it into moiré.
        period = rng.uniform(2.0, 5.0)
        xs = np.arange(w, dtype=np.float32)
        phase = (xs / period) % 1.0
        stripes = np.stack([(phase < 1 / 3), (phase >= 1 / 3) & (phase < 2 / 3), (phase >= 2 / 3)], -1).astype(
            np.float32
        )
        strength = rng.uniform(0.1, 0.5)
        img = img * (1 - strength + strength * 3 * stripes[None, :, :] / 1.0) if rng.random() < 0.5 else img
        rows = (np.arange(h, dtype=np.float32) / period) % 1.0 < rng.uniform(0.15, 0.35)
        img = img * (1 - rng.uniform(0.05, 0.35) * rows[:, None, None])
    if rng.random() < 0.4:
        # Backlight bleed: a soft bright band from one edge of the panel.
        yy = np.linspace(0, 1, h, dtype=np.float32)[:, None]
        xx = np.linspace(0, 1, w, dtype=np.float32)[None, :]
        edge = [yy, 1 - yy, xx, 1 - xx][rng.integers(0, 4)]
        img = img + rng.uniform(0.03, 0.15) * np.exp(-edge / rng.uniform(0.1, 0.4))[..., None]
    return img


def _print(
    img: np.ndarray, mask: np.ndarray, bg: np.ndarray, fg: np.ndarray, scale: float, rng: np.random.Generator
) -> np.ndarray:
    h, w = mask.shape
    kind = rng.random()
    if kind < 0.35:
        # Thermal print: faded, streaky ink that varies along the head's travel.
        fade = 1 - rng.uniform(0.0, 0.5) * (rng.random((1, w)).astype(np.float32) < rng.uniform(0.05, 0.3))
        fade = cv2.GaussianBlur(fade, (0, 0), 1.5)
        ink = mask * fade * rng.uniform(0.6, 1.0)
        img = bg * (1 - ink[..., None]) + fg * ink[..., None]
    elif kind < 0.7:
        # Laser/inkjet: slight toner spread.
        spread = cv2.GaussianBlur(mask, (0, 0), scale * rng.uniform(0.01, 0.04))
        ink = np.clip(spread * rng.uniform(1.0, 1.6), 0, 1)
        img = bg * (1 - ink[..., None]) + fg * ink[..., None]
    # Paper grain.
    grain = cv2.GaussianBlur(rng.standard_normal((h, w)).astype(np.float32), (0, 0), rng.uniform(0.5, 2.0))
    return img + rng.uniform(0.0, 0.06) * grain[..., None]


# ---------------------------------------------------------------- the camera


def _perspective(
    img: np.ndarray, mask: np.ndarray, scale: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    h, w = mask.shape
    src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
    jitter = scale * rng.uniform(0.0, 0.25)
    dst = src + rng.uniform(-jitter, jitter, (4, 2)).astype(np.float32)
    angle = np.deg2rad(rng.normal(0.0, 1.2))
    centre = np.float32([w / 2, h / 2])
    rot = np.float32([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    shear = rng.normal(0.0, 0.08)  # italic-like slant from an oblique view
    dst = (dst - centre) @ rot.T + centre
    dst[:, 0] += shear * (dst[:, 1] - h / 2)
    matrix = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    border = cv2.BORDER_REFLECT
    img = cv2.warpPerspective(img, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=border)
    mask = cv2.warpPerspective(mask, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    return img, mask


def _camera(img: np.ndarray, scale: float, rng: np.random.Generator) -> np.ndarray:
    h, w = img.shape[:2]
    yy = np.linspace(-1, 1, h, dtype=np.float32)[:, None]
    xx = np.linspace(-1, 1, w, dtype=np.float32)[None, :] * (w / max(h, 1)) * 0.3
    if rng.random() < 0.5:
        # Uneven light: a smooth gain across the frame.
        gx, gy = rng.normal(0, 0.15, 2)
        img = img * (1 + gx * xx + gy * yy)[..., None]
    if rng.random() < 0.25:
        # Glare or a reflection: a soft bright ellipse.
        cx, cy = rng.uniform(xx.min(), xx.max()), rng.uniform(-1, 1)
        rx, ry = rng.uniform(0.3, 2.0), rng.uniform(0.5, 3.0)
        blob = np.exp(-(((xx - cx) / rx) ** 2 + ((yy - cy) / ry) ** 2))
        img = img + rng.uniform(0.05, 0.4) * blob[..., None]
    r = rng.random()
    if r < 0.55:
        img = cv2.GaussianBlur(img, (0, 0), scale * rng.uniform(0.01, 0.08))  # defocus
    elif r < 0.8:
        length = round(scale * rng.uniform(0.05, 0.2))  # hand shake
        if length >= 2:
            kernel = np.zeros((length, length), np.float32)
            kernel[length // 2, :] = 1.0
            rot = cv2.getRotationMatrix2D((length / 2 - 0.5, length / 2 - 0.5), rng.uniform(0, 180), 1.0)
            kernel = cv2.warpAffine(kernel, rot, (length, length))
            img = cv2.filter2D(img, -1, kernel / max(kernel.sum(), 1e-6))
    return img


def _finish(gray: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Sensor noise, resampling and JPEG on the final crop (gray ``H x W`` or RGB ``H x W x 3``, 0..1)."""
    h, w = gray.shape[:2]
    if rng.random() < 0.7:
        sigma = rng.uniform(0.0, 0.08)
        noise = rng.standard_normal((h, w)).astype(np.float32)
        if gray.ndim == 3:  # luminance noise and a weaker per-channel (chroma) part, as camera sensors give
            noise = noise[..., None] + 0.5 * rng.standard_normal(gray.shape).astype(np.float32)
        gray = gray + noise * sigma * np.sqrt(np.clip(gray, 0.02, 1))
    gray = np.clip(gray * 255.0, 0, 255).astype(np.uint8)
    if rng.random() < 0.5:
        # Down- and up-scaling: a small subject in a big photo, or a zoomed screenshot.
        f = rng.uniform(0.35, 1.0)
        small = cv2.resize(gray, (max(4, int(w * f)), max(4, int(h * f))), interpolation=cv2.INTER_AREA)
        gray = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR if rng.random() < 0.7 else cv2.INTER_NEAREST)
    if rng.random() < 0.6:
        gray = jpeg(gray, int(rng.integers(25, 96)))
    if rng.random() < 0.3:
        # Contrast and brightness of the camera's tone curve.
        gray = cv2.convertScaleAbs(gray, alpha=rng.uniform(0.6, 1.3), beta=rng.uniform(-30, 30))
    return gray


def _crop(img: np.ndarray, mask: np.ndarray, cap: float, rng: np.random.Generator) -> np.ndarray:
    """Crop around the text with tight-to-loose margins; now and then the crop nicks the end glyphs."""
    rows = np.flatnonzero(mask.max(1) > 0.3)
    cols = np.flatnonzero(mask.max(0) > 0.3)
    if len(rows) == 0 or len(cols) == 0:
        return img
    top, bottom, left, right = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    loose = rng.random() < 0.3
    side = (lambda: cap * rng.uniform(0.05, 1.2)) if loose else (lambda: cap * rng.uniform(-0.06, 0.35))
    vertical = (lambda: cap * rng.uniform(0.05, 0.8)) if loose else (lambda: cap * rng.uniform(-0.05, 0.25))
    h, w = mask.shape
    y0 = int(np.clip(top - vertical(), 0, h - 1))
    y1 = int(np.clip(bottom + vertical(), y0 + 1, h))
    x0 = int(np.clip(left - side(), 0, w - 1))
    x1 = int(np.clip(right + side(), x0 + 1, w))
    return img[y0:y1, x0:x1]


def render_line(
    text: str, rng: np.random.Generator, fonts: Sequence[FontSpec], config: SynthConfig | None = None
) -> np.ndarray:
    """Render ``text`` as a photographed line of a screen, print or sticker; uint8 gray, or RGB with ``config.colour``."""
    config = config or SynthConfig()
    font = fonts[int(rng.integers(0, len(fonts)))]
    size = int(rng.integers(config.min_font_size, config.max_font_size + 1))
    mask, cap = _draw_text(text, font, size, rng)
    ink = mask
    if rng.random() < config.neighbour_lines:
        ink, offset = _with_neighbour(mask, font, size, cap, rng, config)
        text_mask = np.zeros_like(ink)
        text_mask[offset : offset + mask.shape[0], : mask.shape[1]] = mask
        ink, mask = np.maximum(ink, text_mask), text_mask
    r = rng.random()
    c = np.cumsum([config.dark_screen, config.light_screen, config.sign])
    style = "dark_screen" if r < c[0] else "light_screen" if r < c[1] else "sign" if r < c[2] else "print"
    bg, fg = _pick_colours(rng, "print" if style == "sign" else style)
    if style == "sign" and rng.random() < 0.5:
        bg, fg = fg, bg  # light paint on dark stock as often as dark on light
    img = bg * (1 - ink[..., None]) + fg * ink[..., None]
    if style == "print":
        img = _print(img, ink, bg, fg, cap, rng)
    elif style == "sign":
        img = _sign(img, ink, bg, fg, cap, rng)
    else:
        img = _screen(img, ink, fg, cap, rng, dark=style == "dark_screen")
    if rng.random() < 0.8:
        img, mask = _perspective(img, mask, cap, rng)
    img = _crop(img, mask, cap, rng)
    img = _camera(np.ascontiguousarray(img), cap, rng)
    img = np.clip(img, 0, 1).astype(np.float32)
    return _finish(img if config.colour else cv2.cvtColor(img, cv2.COLOR_RGB2GRAY), rng)


class PasswordSynthesizer:
    """Draws ``(image, label)`` pairs: a seeded, endless stream of fresh synthetic passwords."""

    def __init__(
        self,
        seed: int,
        split: str = "train",
        config: SynthConfig | None = None,
        fonts: Sequence[FontSpec] | None = None,
    ) -> None:
        self.config = config or SynthConfig()
        self.fonts = tuple(fonts) if fonts is not None else fonts_for(split)  # type: ignore[arg-type]
        self.rng = np.random.default_rng(seed)

    def sample(self) -> tuple[np.ndarray, str]:
        text = sample_text(self.rng, self.config)
        return render_line(text, self.rng, self.fonts, self.config), text


def render_set(
    count: int, seed: int, split: str = "train", config: SynthConfig | None = None
) -> list[tuple[np.ndarray, str]]:
    """A fixed list of ``count`` synthetic ``(image, label)`` pairs; ``split="eval"`` uses only held-out fonts."""
    synthesizer = PasswordSynthesizer(seed=seed, split=split, config=config)
    return [synthesizer.sample() for _ in range(count)]
