"""The exported site read offline: a static server, one visit, the network off, and the seed photo read on the device.

Skipped where chromium (``apt-get install chromium``) or npm (onnxruntime-web) is missing, saying so.
"""

from pathlib import Path

import pytest
from web_site import PHONE, chromium, requests_logged, site, static_server

__all__ = ["chromium", "site"]  # fixtures

SEED_PHOTO = Path(__file__).parents[3] / "shared" / "seed" / "IMG_20190423_162858.jpg"
SEED_PASSWORD = '"]t4e^WQ4>g'


def test_the_exported_site_holds_the_whole_app(site):
    names = {str(p.relative_to(site)) for p in site.rglob("*") if p.is_file()}
    assert {"index.html", "sw.js", "manifest.webmanifest", "model/recognizer.onnx", "fonts/page-mono.ttf"} <= names
    assert {"ort/ort-wasm-simd-threaded.wasm", "ort/LICENSE", "fonts/LICENSE.txt"} <= names
    assert {"model/detector.onnx", "model/labels.onnx", "model/photo.json", "model/PP-OCRv6-LICENSE.txt"} <= names
    assert "http" not in (site / "index.html").read_text().replace("http-equiv", "")  # nothing from outside


def composed_photo(folder: Path):
    """A Wi-Fi card photographed at an angle (1280 x 960, held-out fonts), saved in ``folder``; and its scene."""
    import numpy as np
    from PIL import Image

    from pwocr.synth.fonts import fonts_for
    from pwocr.synth.scenes import compose_scene

    scene = compose_scene(np.random.default_rng(7), fonts_for("eval"), kind="wifi_card", size=(1280, 960), max_angle=15)
    path = folder / "card.png"
    Image.fromarray(scene.image).save(path)
    return path, scene


def read_in_page(page, photo: Path, expected: str) -> None:
    """Hand ``photo`` to the page and wait until ``[data-reading]`` shows ``expected``."""
    page.evaluate("() => { document.querySelector('[data-reading]').textContent = ''; }")
    page.set_input_files("#file", str(photo))
    page.wait_for_function(
        "(text) => document.querySelector('[data-reading]').textContent === text", arg=expected, timeout=120_000
    )


def wait_until_held_for_offline(page) -> None:
    """The line reader and the whole-photo reader loaded, by way of the service worker that keeps them."""
    page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
    # A function, never a bare expression: Playwright re-evaluates an expression's string at every poll,
    # which the page's CSP (no 'unsafe-eval') refuses; a function's string is evaluated once.
    page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=60_000)
    page.wait_for_selector("body[data-photos=ready]", timeout=120_000)


@pytest.mark.skipif(not SEED_PHOTO.is_file(), reason=f"{SEED_PHOTO} is not here")
def test_offline_right_after_the_first_visit_it_reads_the_seed_photo_and_a_whole_photo(site, chromium, tmp_path):
    """The done-when of the on-device issue: one visit to a static host, the network off, then a line photo and a
    whole photo read, again after a reload, with nothing leaving the page."""
    photo, scene = composed_photo(tmp_path)
    log = tmp_path / "http.log"
    with static_server(site, log) as url:
        context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{url}/")
        wait_until_held_for_offline(page)
        assert any("model/detector.onnx" in line for line in requests_logged(log))  # fetched before any photo

        context.set_offline(True)
        served_before = len(requests_logged(log))
        after: list = []
        context.on("request", lambda request: after.append(request))
        read_in_page(page, SEED_PHOTO, SEED_PASSWORD)
        read_in_page(page, photo, scene.password)
        assert "on this device" in page.inner_text("#status")
        assert "nothing is uploaded" in page.inner_text("#privacy")

        page.reload()  # a second visit with the network off: the service worker serves the whole app
        wait_until_held_for_offline(page)
        read_in_page(page, photo, scene.password)
        read_in_page(page, SEED_PHOTO, SEED_PASSWORD)
        # After the network went off the static server heard nothing from the page; the browser itself may
        # still ask whether sw.js changed (its update check on navigation, which carries nothing of the page).
        heard = [line for line in requests_logged(log)[served_before:] if '"GET /sw.js ' not in line]
        assert heard == []
        left = [r.url for r in after if not (r.url.startswith(("blob:", "data:")) or _from_cache(r))]
        assert left == []
        context.close()


def _from_cache(request) -> bool:
    response = request.response()
    return response is not None and response.from_service_worker


def test_a_site_that_lost_the_detector_still_reads_crops_and_says_to_crop_a_whole_photo(site, chromium, tmp_path):
    """A host missing the detector's file (HTTP 404): the page says whole photos are unavailable, reads a line
    crop, and asks for a crop of a whole photo (going online would not help), with no loading bar left."""
    import shutil

    photo, _ = composed_photo(tmp_path)
    broken = shutil.copytree(site, tmp_path / "site")
    (broken / "model" / "detector.onnx").unlink()
    with static_server(broken, tmp_path / "http.log") as url:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-photos=unavailable]", timeout=120_000)
        assert page.is_hidden("#loading")
        if SEED_PHOTO.is_file():
            read_in_page(page, SEED_PHOTO, SEED_PASSWORD)
        page.set_input_files("#file", str(photo))
        page.wait_for_function("() => document.querySelector('#error').textContent !== ''", timeout=60_000)
        error = page.inner_text("#error")
        assert "detector.onnx: 404" in error and "crop the photo" in error and "go online" not in error
        assert page.is_hidden("#loading")
        context.close()


def test_a_whole_photo_offline_before_its_reader_was_fetched_says_to_go_online_once(site, chromium, tmp_path):
    """The network fails under the background fetch (no service worker to answer): going online once is the advice."""
    photo, _ = composed_photo(tmp_path)
    with static_server(site, tmp_path / "http.log") as url:
        context = chromium.new_context(service_workers="block")
        context.route("**/model/labels.onnx", lambda route: route.abort("internetdisconnected"))
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-photos=unavailable]", timeout=120_000)
        page.set_input_files("#file", str(photo))
        page.wait_for_function("() => document.querySelector('#error').textContent !== ''", timeout=60_000)
        assert "go online once, or crop the photo" in page.inner_text("#error")
        assert page.is_hidden("#loading")
        context.close()
