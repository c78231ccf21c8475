"""The page writes a probability as the CLI does: ``percent`` in ``static/app.js`` against
``pwocr.cli.output.probability_text``, on the ends, the rounding boundaries and random values."""

import numpy as np
from web_site import chromium, site, static_server

from pwocr.cli.output import probability_text

__all__ = ["chromium", "site"]  # fixtures


def test_the_page_writes_probabilities_as_the_cli_does(site, chromium, tmp_path):
    boundaries = [k / 2000 for k in range(2001)]  # every x.x5% boundary, both ends included
    rng = np.random.default_rng(3)
    values = [0.0, 1e-9, 0.0004999, 0.0005, 0.99949, 0.9995, 0.99951, 1.0, *boundaries]
    values += rng.uniform(0, 1, 500).tolist() + (10 ** rng.uniform(-6, 0, 200)).tolist()
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate('async (ps) => { const A = await import("./app.js"); return ps.map(A.percent); }', values)
        page.close()
    mismatches = [(p, js, probability_text(p)) for p, js in zip(values, got, strict=True) if js != probability_text(p)]
    assert not mismatches, mismatches[:10]
