"""Whole-photo reading: text-line detection, straightening, reading order, and the password pick."""

from pwocr.layout.detector import TextBox, TextDetector, crop_line, default_detector
from pwocr.layout.draw import draw_reading, render
from pwocr.layout.password import LineFacts, PasswordPick, pick_password, rank_passwords, split_label
from pwocr.layout.photo import (
    Layout,
    PhotoLine,
    PhotoPassword,
    PhotoReading,
    load_photo,
    looks_like_line,
    read_image,
    read_images,
    read_photo,
)

__all__ = [
    "Layout",
    "LineFacts",
    "PasswordPick",
    "PhotoLine",
    "PhotoPassword",
    "PhotoReading",
    "TextBox",
    "TextDetector",
    "crop_line",
    "default_detector",
    "draw_reading",
    "load_photo",
    "looks_like_line",
    "pick_password",
    "rank_passwords",
    "read_image",
    "read_images",
    "read_photo",
    "render",
    "split_label",
]
