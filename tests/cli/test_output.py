"""How the CLI writes a probability: to a tenth of a percent, never rounded to a certainty it is not."""

import pytest

from pwocr.cli.output import probability_text


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0, "<0.1%"), (0.0004, "<0.1%"), (0.0012, "0.1%"), (0.4567, "45.7%"), (0.9991, "99.9%"), (0.9996, ">99.9%")],
)
def test_probability_text(p, text):
    assert probability_text(p) == text
