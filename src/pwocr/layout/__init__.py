"""Whole-photo reading: text-line detection, straightening, reading order, and the password pick.

``pwocr.reader`` decides whether an image is a line or a photo; this package reads photos."""

from pwocr.layout.clues import LabelSplit, find_label, split_label
from pwocr.layout.detector import TextBox, TextDetector, crop_line, default_detector
from pwocr.layout.draw import annotated_photo, draw_reading
from pwocr.layout.geometry import LinePlace, reading_order
from pwocr.layout.orientation import AngleClassifier
from pwocr.layout.password import LineFacts, PasswordPick, PickerWeights, pick_pairs, pick_password, rank_passwords
from pwocr.layout.photo import PhotoLine, PhotoPassword, PhotoReading, load_photo, read_photo

__all__ = [
    "AngleClassifier",
    "LabelSplit",
    "LineFacts",
    "LinePlace",
    "PasswordPick",
    "PhotoLine",
    "PhotoPassword",
    "PhotoReading",
    "PickerWeights",
    "TextBox",
    "TextDetector",
    "annotated_photo",
    "crop_line",
    "default_detector",
    "draw_reading",
    "find_label",
    "load_photo",
    "pick_pairs",
    "pick_password",
    "rank_passwords",
    "read_photo",
    "reading_order",
    "split_label",
]
