import itertools

import numpy as np
import pytest

from pwocr.alphabet import resolve_charset
from pwocr.data.images import load
from pwocr.data.labels import read_labels
from pwocr.lookalikes import lookalikes_of
from pwocr.synth.dataset_writer import write_synthetic_set
from pwocr.synth.render import (
    PasswordSynthesizer,
    SynthConfig,
    lookalike_string,
    random_password,
    render_set,
    sample_text,
)


def test_same_seed_same_samples():
    a, b = PasswordSynthesizer(7), PasswordSynthesizer(7)
    for _ in range(5):
        (ia, la), (ib, lb) = a.sample(), b.sample()
        assert la == lb and np.array_equal(ia, ib)


def test_samples_are_grayscale_lines_with_legal_labels():
    config = SynthConfig(min_length=6, max_length=20)
    synthesizer = PasswordSynthesizer(3, config=config)
    for _ in range(30):
        image, label = synthesizer.sample()
        assert image.dtype == np.uint8 and image.ndim == 2
        assert image.shape[1] > image.shape[0] > 4
        assert 6 <= len(label) <= 20 and all(c in config.alphabet for c in label)
        assert image.std() > 3  # something is drawn


def test_random_passwords_cover_the_alphabet_uniformly():
    rng = np.random.default_rng(0)
    text = "".join(random_password(rng, "abcd", 10, 10) for _ in range(2000))
    counts = np.array([text.count(c) for c in "abcd"])
    assert abs(counts / counts.sum() - 0.25).max() < 0.02


def test_synth_writes_images_and_a_seed_csv(tmp_path):
    write_synthetic_set(tmp_path, 5, seed=1, alphabet="digits", fonts_split="eval")
    items = read_labels(tmp_path / "labels.csv")
    assert len(items) == 5
    for item in items:
        assert item.label.isdigit()
        assert load(item.path).ndim == 2
    assert set(resolve_charset("digits")) >= set("".join(i.label for i in items))


def test_synth_writes_colour_lines_in_rgb_order(tmp_path):
    """``--colour`` files hold the rendered RGB pixels (OpenCV writes BGR: the channels are swapped back)."""
    write_synthetic_set(tmp_path, 3, seed=2, fonts_split="eval", colour=True)
    expected = [image for image, _ in render_set(3, seed=2, split="eval", config=SynthConfig(colour=True))]
    for item, image in zip(read_labels(tmp_path / "labels.csv"), expected):
        assert np.array_equal(load(item.path, colour=True), image)


@pytest.mark.parametrize("seed", range(3))
def test_every_look_renders_for_any_length(seed):
    """Neighbouring lines, signs and the string kinds forced on, over short and long strings."""
    config = SynthConfig(neighbour_lines=1.0, sign=0.6, dark_screen=0.2, light_screen=0.1, min_length=1, max_length=30)
    synthesizer = PasswordSynthesizer(seed=seed, config=config)
    for _ in range(60):
        image, label = synthesizer.sample()
        assert image.dtype == np.uint8 and image.ndim == 2 and min(image.shape) > 0
        assert label and all(c in config.alphabet for c in label) and label.strip() == label


def test_sampled_strings_mix_uniform_chosen_and_confusable():
    rng = np.random.default_rng(0)
    texts = [sample_text(rng, SynthConfig()) for _ in range(400)]
    assert all(6 <= len(t) <= 20 for t in texts)
    confusable = sum(_side_by_side(t) > 0.4 for t in texts)
    chosen = sum(t[:3].isalpha() for t in texts)
    assert confusable > 30 and chosen > 80


def _side_by_side(text: str) -> float:
    """The share of neighbouring character pairs that look alike."""
    return sum(b in lookalikes_of(a) for a, b in itertools.pairwise(text)) / max(len(text) - 1, 1)


def test_lookalike_strings_put_lookalikes_side_by_side():
    rng = np.random.default_rng(1)
    texts = [lookalike_string(rng, "0123456789OIl|abc", 8, 12) for _ in range(200)]
    assert all(8 <= len(t) <= 12 and set(t) <= set("0123456789OIl|abc") for t in texts)
    uniform = [random_password(rng, "0123456789OIl|abc", 8, 12) for _ in range(200)]
    assert np.mean([_side_by_side(t) for t in texts]) > 2 * np.mean([_side_by_side(t) for t in uniform])


def test_word_strings_come_from_the_word_list_in_sign_cases(tmp_path):
    import numpy as np

    from pwocr.synth.render import SynthConfig, sample_text

    (tmp_path / "words").write_text("coffee\nGarden\ncafé\nit's\nstreet\n")
    words = str(tmp_path / "words")
    config = SynthConfig(min_length=4, max_length=16, chosen_strings=0, word_strings=1.0, words_file=words)
    rng = np.random.default_rng(0)
    texts = [sample_text(rng, config) for _ in range(200)]
    stems = {"COFFEE", "GARDEN", "STREET"}
    assert all(any(s in t.upper() for s in stems) for t in texts)
    assert not any("CAF" in t.upper() or "'" in t for t in texts)  # non-ASCII and possessives left out
    assert {t[:6] for t in texts} >= {"coffee", "Coffee", "COFFEE"}
    assert all(4 <= len(t) <= 16 and t == t.strip() for t in texts)
    # Without a word list, the share falls back to the other strings.
    assert all(sample_text(rng, SynthConfig(word_strings=1.0)) for _ in range(5))


def test_words_run_together_where_the_alphabet_has_no_space(tmp_path):
    import numpy as np

    from pwocr.alphabet import PRINTABLE_94
    from pwocr.synth.render import SynthConfig, sample_text

    (tmp_path / "words").write_text("blue\nsky\n")
    config = SynthConfig(
        alphabet=PRINTABLE_94,
        min_length=8,
        max_length=16,
        chosen_strings=0,
        word_strings=1.0,
        words_file=str(tmp_path / "words"),
    )
    rng = np.random.default_rng(0)
    texts = [sample_text(rng, config) for _ in range(100)]
    # Two or more words each (a word is at most 4 letters, a line at least 8), none a random fallback.
    assert all(" " not in t and sum(t.lower().count(w) for w in ("blue", "sky")) >= 2 for t in texts)
