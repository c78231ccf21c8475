"""Turning CTC log-probabilities into strings."""

from pwocr.decoding.ctc import collapse, greedy_decode, raw_string

__all__ = ["collapse", "greedy_decode", "raw_string"]
