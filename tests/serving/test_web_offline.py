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


@pytest.mark.skipif(not SEED_PHOTO.is_file(), reason=f"{SEED_PHOTO} is not here")
def test_after_one_visit_the_site_reads_offline_and_nothing_leaves_the_page(site, chromium, tmp_path):
    log = tmp_path / "http.log"
    with static_server(site, log) as url:
        context = chromium.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
        # The service worker has cached the whole site once it controls the page (it claims it on activation).
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000)

        context.set_offline(True)
        served_before = len(requests_logged(log))
        after: list = []
        context.on("request", lambda request: after.append(request))
        page.reload()  # a second visit with the network off: the service worker serves the whole app
        page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
        page.set_input_files("#file", str(SEED_PHOTO))
        page.wait_for_selector("#result:not([hidden])", timeout=60_000)

        assert page.inner_text("[data-reading]") == SEED_PASSWORD
        assert "nothing is uploaded" in page.inner_text("#privacy")
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


def test_a_whole_photo_reads_offline_once_one_was_read_online(site, chromium, tmp_path):
    """The whole-photo reader's files are fetched with the first whole photo and kept: the next one reads offline."""
    import numpy as np
    from PIL import Image

    from pwocr.synth.fonts import fonts_for
    from pwocr.synth.scenes import compose_scene

    scene = compose_scene(np.random.default_rng(7), fonts_for("eval"), kind="wifi_card", size=(1280, 960), max_angle=15)
    photo = tmp_path / "card.png"
    Image.fromarray(scene.image).save(photo)
    log = tmp_path / "http.log"
    with static_server(site, log) as url:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000)
        assert not any("model/detector.onnx" in line for line in requests_logged(log))  # not before a whole photo
        page.set_input_files("#file", str(photo))
        page.wait_for_function(
            "(text) => document.querySelector('[data-reading]').textContent === text",
            arg=scene.password,
            timeout=120_000,
        )
        assert any("model/detector.onnx" in line for line in requests_logged(log))

        context.set_offline(True)
        served_before = len(requests_logged(log))
        page.reload()
        page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
        page.set_input_files("#file", str(photo))
        page.wait_for_function(
            "(text) => document.querySelector('[data-reading]').textContent === text",
            arg=scene.password,
            timeout=120_000,
        )
        assert "on this device" in page.inner_text("#status")
        heard = [line for line in requests_logged(log)[served_before:] if '"GET /sw.js ' not in line]
        assert heard == []
        context.close()


def test_a_whole_photo_offline_before_its_reader_was_fetched_says_what_to_do(site, chromium, tmp_path):
    """Offline before the first whole photo: the page says to go online once or crop, and no loading bar stays."""
    import numpy as np
    from PIL import Image

    from pwocr.synth.fonts import fonts_for
    from pwocr.synth.scenes import compose_scene

    scene = compose_scene(np.random.default_rng(7), fonts_for("eval"), kind="wifi_card", size=(1280, 960), max_angle=15)
    photo = tmp_path / "card.png"
    Image.fromarray(scene.image).save(photo)
    with static_server(site, tmp_path / "http.log") as url:
        context = chromium.new_context()
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=60_000)
        context.set_offline(True)
        page.set_input_files("#file", str(photo))
        page.wait_for_function("() => document.querySelector('#error').textContent !== ''", timeout=60_000)
        assert "go online once, or crop the photo" in page.inner_text("#error")
        assert page.is_hidden("#loading")
        context.close()
