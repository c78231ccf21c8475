"""``ModelConfig``: everything that rebuilds a model and its preprocessing; saved inside every checkpoint.

Plain Python (no torch), so reading with onnxruntime never imports torch.
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Callable
from dataclasses import MISSING, asdict, dataclass, fields
from typing import Any

from pwocr.errors import PwocrError
from pwocr.lookalikes import disjoint_groups

#: VGG width multipliers by name: ``crnn`` is the paper's network.
VGG_WIDTHS: dict[str, float] = {"crnn": 1.0, "crnn-small": 0.5, "crnn-tiny": 0.25}
#: Every model by name: the VGG sizes, then the CRNN over a PP-LCNetV4 feature extractor.
MODEL_SIZES: tuple[str, ...] = (*VGG_WIDTHS, "crnn-lcnet", "crnn-svtr")
#: Models whose conv stack is PP-LCNetV4 (``crnn-svtr`` adds PP-OCRv6's light SVTR mixer after it).
LCNET_MODELS = ("crnn-lcnet", "crnn-svtr")
#: Input line height each model is built for.
_HEIGHTS = {**dict.fromkeys(VGG_WIDTHS, 32), **dict.fromkeys(LCNET_MODELS, 48)}

# The paper's seven conv layers (Table 4) and where batch norm follows them.
_PAPER_CHANNELS = (64, 128, 256, 256, 512, 512, 512)
_PAPER_HIDDEN = 256
#: The widest line (and ``pad_multiple``) a config may ask for: a corrupted width would pad every
#: line to it and run out of memory.
MAX_LINE_WIDTH = 1 << 15


#: The fields of a ModelConfig that say how its readings are decoded, not what the network is:
#: fitted after training (the temperature by calibration, the format prior by a fine-tune's end).
DECODING_FIELDS = ("temperature", "formats", "format_floor", "format_weight")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a model and its preprocessing; saved inside every checkpoint."""

    alphabet: str
    # The architecture, by name (``MODEL_SIZES``); saved checkpoints before this name called it ``size``.
    arch: str = "crnn"
    # The line height the conv stack needs: 32 for the VGG stacks, 48 for crnn-lcnet (None: that one).
    height: int | None = None
    min_width: int = 32
    max_width: int = 800
    # Input widths are multiples of this, so lines of near widths resize to one width (and one bucket).
    width_step: int = 8
    # 1: a grayscale line; 3: an RGB line, so text that differs from its background in colour more
    # than in brightness keeps its contrast (a PP-LCNetV4 stack then uses PP-OCRv6's colour filters).
    in_channels: int = 1
    # Lines narrower than this are padded on the right with mid-gray (0 after normalising) to this
    # width, as PP-OCRv6 pads every line to 320 px: its mixer attends across the whole line, and a
    # short word read without the padding it was trained with loses accuracy. 0: no padding.
    pad_width: int = 0
    # Lines wider than ``pad_width`` are padded on the right to the next multiple of this (their width
    # bucket), so lines of one bucket share a forward pass while each line's input depends on the
    # line alone: a reading is the same alone or batched. 0: only to ``width_step`` (no buckets).
    pad_multiple: int = 32
    # Softmax temperature for confidences, fitted after training by ``pwocr calibrate``; the
    # best reading never depends on it, only how sure the model says it is.
    temperature: float = 1.0
    # The formats a fine-tune's labels came in (``pwocr.decoding.formats``): each shape with its
    # share of the labels, the share of a shape never seen, and the prior's weight in decoding,
    # kept by ``pwocr train`` only where the validation set reads better with them (``()``: none).
    formats: tuple[tuple[str, float], ...] = ()
    format_floor: float = 0.0
    format_weight: float = 0.0
    # Whether PP-OCRv6's own CTC layer reads this model's features (the mixer's 120 per frame): a
    # crnn-svtr whose conv stack and mixer started from PP-OCRv6's. A photo's words then come from
    # that layer over features the model computes anyway (``pwocr.layout.labels``) instead of a
    # second pass of PP-OCRv6's whole recognizer. None: true for crnn-svtr (trained so), else false.
    ppocr_features: bool | None = None
    # A look-alike refiner (``pwocr.model.refiner``): a small conv branch over the conv stack's
    # block-7 features that redistributes each look-alike group's probability by the glyph's shape.
    lookalike_refiner: bool = False

    def __post_init__(self) -> None:
        _check_alphabet(self.alphabet)
        # JSON (checkpoint and graph metadata) gives lists; the config is frozen and compares by value.
        object.__setattr__(self, "formats", tuple((str(shape), float(share)) for shape, share in self.formats))
        shares = [share for _, share in self.formats]
        if not (0 <= self.format_weight < math.inf and 0 <= self.format_floor <= 1 and all(0 < s <= 1 for s in shares)):
            raise PwocrError(
                f"format prior out of range: weight {self.format_weight}, floor {self.format_floor}, "
                "shares must lie in (0, 1]"
            )
        if self.formats and self.format_weight > 0 and not self.format_floor > 0:
            raise PwocrError("a format prior needs a positive floor (the share of a shape never seen)")
        if self.arch not in MODEL_SIZES:
            raise PwocrError(f"unknown model architecture {_brief(self.arch)}; choose one of {', '.join(MODEL_SIZES)}")
        if not 0 < self.temperature < math.inf:
            raise PwocrError(f"temperature {self.temperature} must be a finite positive number")
        if self.height is None:
            object.__setattr__(self, "height", _HEIGHTS[self.arch])
        if self.ppocr_features is None:
            object.__setattr__(self, "ppocr_features", self.arch == "crnn-svtr")
        if self.ppocr_features and self.arch != "crnn-svtr":
            raise PwocrError(f"ppocr_features: only a crnn-svtr ends in PP-OCRv6's features, not a {self.arch}")
        if self.lookalike_refiner and self.arch not in LCNET_MODELS:
            raise PwocrError(
                f"lookalike_refiner: the refiner reads one frame per 8 px, as {' and '.join(LCNET_MODELS)} do, not a {self.arch}"
            )
        if self.lookalike_refiner and not disjoint_groups(self.alphabet):
            raise PwocrError("lookalike_refiner: the alphabet has no two characters that look alike")
        if self.height != _HEIGHTS[self.arch]:
            raise PwocrError(
                f"height {self.height} is not supported: the {self.arch} conv stack needs {_HEIGHTS[self.arch]}-pixel lines"
            )
        if self.width_step < 1 or self.min_width % self.width_step or self.max_width % self.width_step:
            raise PwocrError(
                f"widths {self.min_width}..{self.max_width} must be multiples of width_step {self.width_step}"
            )
        if self.in_channels not in (1, 3):
            raise PwocrError(f"in_channels {self.in_channels}: a model reads gray (1) or RGB (3) lines")
        if self.pad_width < 0 or self.pad_width % self.width_step or self.pad_width > self.max_width:
            raise PwocrError(
                f"pad_width {self.pad_width} must be 0 or a multiple of width_step {self.width_step} "
                f"up to max_width {self.max_width}"
            )
        if self.pad_multiple < 0 or self.pad_multiple % self.width_step:
            raise PwocrError(
                f"pad_multiple {self.pad_multiple} must be 0 or a multiple of width_step {self.width_step}"
            )
        if not 8 <= self.min_width <= self.max_width:
            raise PwocrError(f"widths {self.min_width}..{self.max_width}: need 8 <= min_width <= max_width")
        if max(self.max_width, self.pad_multiple) > MAX_LINE_WIDTH:
            raise PwocrError(
                f"max_width {self.max_width} and pad_multiple {self.pad_multiple} must be at most {MAX_LINE_WIDTH}"
            )

    @property
    def channels(self) -> tuple[int, ...]:
        """The VGG stack's seven conv widths (for ``crnn-lcnet``: its feature width, alone)."""
        if self.arch == "crnn-svtr":
            return (120,)  # pwocr.model.svtr.SVTR_CHANNELS
        if self.arch not in VGG_WIDTHS:
            return (384,)  # pwocr.model.lcnet.LCNET_CHANNELS
        return tuple(max(8, int(c * VGG_WIDTHS[self.arch])) for c in _PAPER_CHANNELS)

    @property
    def colour(self) -> bool:
        """Whether the model reads RGB lines (images are loaded in colour for it)."""
        return self.in_channels == 3

    @property
    def hidden(self) -> int:
        return max(16, int(_PAPER_HIDDEN * VGG_WIDTHS.get(self.arch, 0.5)))

    def output_length(self, width: Any) -> Any:
        """Number of CTC time steps for an input line ``width`` pixels wide."""
        if self.arch in LCNET_MODELS:
            # Two stride-2 convs with padding 1, then a pool of width 2 (pwocr.model.lcnet).
            return ((width + 1) // 2 + 1) // 2 // 2
        return width // 4 + 1  # two 2x2 max-pools, then pools that add a column each and a 2x2 conv

    @property
    def num_classes(self) -> int:
        return len(self.alphabet) + 1

    def to_dict(self) -> dict[str, Any]:
        """The config as JSON has it (lists, not tuples): what checkpoints, graphs and the page keep."""
        return {**asdict(self), "formats": [list(shape) for shape in self.formats]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """The config a checkpoint's JSON holds; a missing, unknown or mistyped key is one ``PwocrError``."""
        _check_saved(data)
        if "arch" not in data and "size" in data:
            # Checkpoints and exported graphs saved before the field was named for what it holds.
            data = {**data, "arch": data["size"]}
        return cls(**{k: v for k, v in data.items() if k != "size"})


def _brief(value: object, limit: int = 40) -> str:
    """``repr(value)``, cut to ``limit`` characters: a corrupted file's string never floods a message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_alphabet(alphabet: str) -> None:
    if not alphabet:
        raise PwocrError("the alphabet is empty")
    seen: set[str] = set()
    for char in alphabet:
        if char in seen:
            raise PwocrError(f"the alphabet repeats {char!r}")
        if unicodedata.category(char) == "Cs":
            raise PwocrError(f"the alphabet holds {char!r}, half of a UTF-16 surrogate pair, not a character")
        seen.add(char)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_formats(value: object) -> bool:
    def pair(item: object) -> bool:
        return isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str) and _is_number(item[1])

    return isinstance(value, (list, tuple)) and all(pair(item) for item in value)


#: What a saved value of each field type must be: its name in messages, and the test.
_KINDS: dict[str, tuple[str, Callable[[object], bool]]] = {
    "str": ("a string", lambda value: isinstance(value, str)),
    "int": ("an integer", _is_int),
    "float": ("a number", _is_number),
    "bool": ("true or false", lambda value: isinstance(value, bool)),
    "tuple[tuple[str, float], ...]": ("a list of [shape, share] pairs", _is_formats),
}
#: Each key a saved config may hold (``size``: ``arch`` before it was renamed): its kind, and whether
#: it may be null; from the fields' annotations, so a field of a type ``_KINDS`` lacks fails on import.
_SAVED_KEYS: dict[str, tuple[str, Callable[[object], bool], bool]] = {
    "size": (*_KINDS["str"], False),
    **{
        f.name: (*_KINDS[str(f.type).removesuffix(" | None")], str(f.type).endswith("| None"))
        for f in fields(ModelConfig)
    },
}
_JSON_NAMES = {
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
    dict: "an object",
}


def _check_saved(data: dict[str, Any]) -> None:
    """Refuse a saved config with a key pwocr never wrote, without its alphabet, or with a value of the wrong type."""
    unknown = [key for key in data if key not in _SAVED_KEYS]
    if unknown:
        raise PwocrError(f"unknown key {_brief(unknown[0])}: written by a newer pwocr, or edited by hand")
    missing = [f.name for f in fields(ModelConfig) if f.default is MISSING and f.name not in data]
    if missing:
        raise PwocrError(f"missing key {missing[0]!r}")
    for key, value in data.items():
        what, fits, nullable = _SAVED_KEYS[key]
        if not (fits(value) or (nullable and value is None)):
            found = "null" if value is None else _JSON_NAMES.get(type(value), type(value).__name__)
            raise PwocrError(f"{key} must be {what}, not {found}")
