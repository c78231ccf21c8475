"""Word and character metrics of readings against ground truth, as the seed's ``test.py`` reported them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

#: Stands for "no character" on one side of an alignment (an insertion or a deletion).
GAP = ""


def align(truth: str, prediction: str) -> list[tuple[str, str]]:
    """Levenshtein alignment as ``(truth_char, predicted_char)`` pairs; ``GAP`` marks a missing side."""
    n, m = len(truth), len(prediction)
    dist = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(n + 1):
        dist[i][0] = i
    for j in range(m + 1):
        dist[0][j] = j
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            dist[i][j] = min(
                dist[i - 1][j] + 1,
                dist[i][j - 1] + 1,
                dist[i - 1][j - 1] + (truth[i - 1] != prediction[j - 1]),
            )
    pairs: list[tuple[str, str]] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and dist[i][j] == dist[i - 1][j - 1] + (truth[i - 1] != prediction[j - 1]):
            pairs.append((truth[i - 1], prediction[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and dist[i][j] == dist[i - 1][j] + 1:
            pairs.append((truth[i - 1], GAP))
            i -= 1
        else:
            pairs.append((GAP, prediction[j - 1]))
            j -= 1
    return pairs[::-1]


@dataclass(frozen=True)
class Metrics:
    """Word accuracy, character accuracy, weighted character precision / recall / F1 and CER."""

    word_accuracy: float
    char_accuracy: float
    precision: float
    recall: float
    f1: float
    cer: float
    n: int

    def as_dict(self) -> dict[str, float | int]:
        return {
            k: getattr(self, k) for k in ("word_accuracy", "char_accuracy", "precision", "recall", "f1", "cer", "n")
        }


def normalise_text(text: str, ignore_case: bool = False, ignore_symbols: bool = False) -> str:
    """How scene-text benchmarks compare strings: optionally upper-cased, optionally letters and digits only."""
    if ignore_symbols:
        text = "".join(c for c in text if c.isascii() and c.isalnum())
    return text.upper() if ignore_case else text


def compute_metrics(
    truths: Sequence[str], predictions: Sequence[str], ignore_case: bool = False, ignore_symbols: bool = False
) -> Metrics:
    """Metrics over aligned characters, after ``normalise_text`` on both sides.

    Character accuracy is the share of ground-truth characters read correctly; precision, recall
    and F1 are per character class, weighted by how often each class occurs in the ground truth
    (scikit-learn's ``average="weighted"``); CER is total edit distance over total characters.
    """
    if len(truths) != len(predictions):
        raise ValueError("truths and predictions differ in length")
    if not truths:
        return Metrics(0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)
    truths = [normalise_text(t, ignore_case, ignore_symbols) for t in truths]
    predictions = [normalise_text(p, ignore_case, ignore_symbols) for p in predictions]
    true_positive: Counter[str] = Counter()
    support: Counter[str] = Counter()
    predicted: Counter[str] = Counter()
    errors = 0
    for truth, prediction in zip(truths, predictions):
        for t, p in align(truth, prediction):
            if t != GAP:
                support[t] += 1
            if p != GAP:
                predicted[p] += 1
            if t == p:
                true_positive[t] += 1
            else:
                errors += 1
    total = sum(support.values())
    precision = recall = f1 = 0.0
    for char, count in support.items():
        p = true_positive[char] / predicted[char] if predicted[char] else 0.0
        r = true_positive[char] / count
        weight = count / max(total, 1)
        precision += weight * p
        recall += weight * r
        f1 += weight * (2 * p * r / (p + r) if p + r else 0.0)
    return Metrics(
        word_accuracy=sum(t == p for t, p in zip(truths, predictions)) / len(truths),
        char_accuracy=sum(true_positive.values()) / max(total, 1),
        precision=precision,
        recall=recall,
        f1=f1,
        cer=errors / max(total, 1),
        n=len(truths),
    )
