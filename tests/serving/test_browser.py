"""The page in a real headless browser: Debian's chromium driven by Playwright, nothing loaded from outside.

CI installs chromium (``.ci/run``); where it is absent these tests are skipped, saying so.
Set ``PWOCR_SCREENSHOTS=folder`` to keep the phone-size screenshots.
"""

import io
import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import TINY_LABELS
from live_server import png, running

from pwocr.serving.app import create_app
from pwocr.serving.settings import ServeSettings
from pwocr.serving.webapp import WebApp

CHROMIUM = os.environ.get("PWOCR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
)


@pytest.fixture(scope="module")
def web(tiny_checkpoint, onnxruntime_web_folder):
    """The page for the tiny model, with its in-page reader."""
    return WebApp.for_checkpoint(tiny_checkpoint, runtime=onnxruntime_web_folder)


@pytest.fixture(scope="module")
def server(tiny_checkpoint, web):
    settings = ServeSettings(threads=1)
    with running(create_app(tiny_checkpoint, settings=settings, web=web), settings) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield browser
        browser.close()


@pytest.fixture
def phone(browser, server):
    """A phone-size page that may load only from the server; anything else is recorded and refused."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    outside: list[str] = []

    def only_local(route):
        if route.request.url.startswith(server) or route.request.url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_local)
    page = context.new_page()
    page.outside = outside
    yield page
    context.close()


def expect(locator):
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect(locator)


def read_on_server(page) -> None:
    """Choose, in the page's options, to send the photo to the server instead of reading it on the device."""
    page.click("#options summary")
    page.check("input[name=where][value=server]")


def screenshot(page, name: str) -> None:
    folder = os.environ.get("PWOCR_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def test_a_photo_chosen_on_the_page_is_read_on_the_device(phone, server):
    uploads: list[str] = []
    phone.on("request", lambda r: uploads.append(r.url) if r.method == "POST" else None)
    phone.goto(f"{server}/")
    assert "nothing is uploaded" in phone.inner_text("#privacy")
    phone.set_input_files(
        "#file", files=[{"name": "photo.png", "mimeType": "image/png", "buffer": png(TINY_LABELS[3])}]
    )
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.get_attribute("#password", "data-text") == TINY_LABELS[3]
    assert phone.inner_text("[data-reading]") == TINY_LABELS[3]
    assert uploads == []
    assert phone.locator("#password .ch").count() == len(TINY_LABELS[3])
    # The bundled font loads once the glyphs ask for it: wait for its load (a missing font ends as
    # "error"). Not wait_for_function with a string: its polling evaluates the string in the page, which
    # the page's CSP (no 'unsafe-eval') refuses whenever the font is not loaded at the first look.
    loaded = "document.fonts.load('16px \"pwocr mono\"').then(() => [...document.fonts]"
    loaded += ".filter((face) => face.family.includes('pwocr mono')).map((face) => face.status))"
    assert phone.evaluate(loaded) == ["loaded"]
    phone.click("#copy")
    expect(phone.locator("#copied")).to_have_text("Copied.")
    assert phone.evaluate("navigator.clipboard.readText()") == TINY_LABELS[3]
    screenshot(phone, "read")
    assert phone.outside == []


def test_the_camera_input_and_the_keyboard(phone, server):
    phone.goto(f"{server}/")
    assert phone.locator("#auth").is_hidden() and phone.locator("#result").is_hidden()
    camera = phone.locator("#camera")
    assert camera.get_attribute("capture") == "environment" and camera.get_attribute("accept") == "image/*"
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.id") == "take"
    phone.keyboard.press("Tab")
    assert phone.evaluate("document.activeElement.id") == "choose"
    phone.set_input_files("#camera", files=[{"name": "c.png", "mimeType": "image/png", "buffer": png(TINY_LABELS[1])}])
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.get_attribute("#password", "data-text") == TINY_LABELS[1]


FAKE_CHARS = [
    {"char": "a", "confidence": 0.99, "alternatives": [], "confusable": False},
    {
        "char": "l",
        "confidence": 0.55,
        "alternatives": [{"char": "1", "confidence": 0.3}, {"char": "I", "confidence": 0.1}],
        "confusable": True,
    },
    {"char": "0", "confidence": 0.97, "alternatives": [], "confusable": False},
]


def test_uncertain_characters_offer_their_alternatives(phone, server):
    """The server's answer is stubbed so a character is surely uncertain; tapping it offers the rivals."""
    answer = {
        "image": "photo.png", "text": "al0", "raw": "a-l-0", "confidence": 0.41,
        "candidates": [{"text": "al0", "confidence": 0.41}, {"text": "a10", "confidence": 0.22}],
        "chars": FAKE_CHARS,
    }  # fmt: skip
    phone.route(f"{server}/v1/read", lambda route: route.fulfill(status=200, json=answer))
    phone.goto(f"{server}/")
    read_on_server(phone)
    phone.set_input_files("#file", files=[{"name": "p.png", "mimeType": "image/png", "buffer": png("a1!")}])
    phone.wait_for_selector("#result:not([hidden])")
    assert phone.locator("#password .ch.uncertain").count() == 1
    assert phone.locator("#candidates li").count() == 1  # the next candidate, not the reading again
    phone.locator("#password .ch.uncertain").tap()
    phone.wait_for_selector("#alternatives:not([hidden])")
    screenshot(phone, "alternatives")
    phone.keyboard.press("Escape")
    assert phone.locator("#alternatives").is_hidden()
    phone.locator("#password .ch.uncertain").click()
    phone.get_by_role("button", name="Use digit 1, 30.0%").click()
    assert phone.get_attribute("#password", "data-text") == "a10"


def test_a_whole_photo_answer_shows_its_lines_and_the_pick(phone, server):
    """The JSON of photo mode (``PhotoReading.as_dict``): every line, and the password picked from one of them."""
    line = {"candidates": [], "chars": [], "box": [[0, 0], [9, 0], [9, 9], [0, 9]]}
    answer = {
        "image": "desk.jpg",
        "lines": [
            {**line, "text": "Guest network", "confidence": 0.8},
            {**line, "text": "Password:Zz9", "confidence": 0.9},
        ],
        "password": {
            "text": "Zz9", "confidence": 0.9, "candidates": [], "chars": [], "line": 1, "why": "after the label 'Password:'",
        },
    }  # fmt: skip
    phone.route(f"{server}/v1/read", lambda route: route.fulfill(status=200, body=json.dumps(answer)))
    phone.goto(f"{server}/")
    read_on_server(phone)
    phone.set_input_files("#file", files=[{"name": "desk.png", "mimeType": "image/png", "buffer": png("Zz9")}])
    phone.wait_for_selector("#lines-box:not([hidden])")
    assert phone.get_attribute("#password", "data-text") == "Zz9"
    assert phone.locator("#lines li.picked").inner_text().startswith("Password:Zz9")
    assert "after the label" in phone.inner_text("#meta")
    screenshot(phone, "photo-mode")


def test_a_whole_photo_without_a_password_still_lists_its_lines(phone, server):
    answer = {"image": "wall.jpg", "lines": [{"text": "EXIT", "confidence": 0.9}], "password": None}
    phone.route(f"{server}/v1/read", lambda route: route.fulfill(status=200, body=json.dumps(answer)))
    phone.goto(f"{server}/")
    read_on_server(phone)
    phone.set_input_files("#file", files=[{"name": "wall.png", "mimeType": "image/png", "buffer": png("Zz9")}])
    phone.wait_for_selector("#lines-box:not([hidden])")
    assert "No characters were read" in phone.inner_text("#meta")
    assert phone.locator("#lines li").count() == 1


def test_a_refusal_is_shown_as_one_line(phone, server):
    phone.goto(f"{server}/")
    phone.set_input_files("#file", files=[{"name": "notes.png", "mimeType": "image/png", "buffer": b"plain text"}])
    expect(phone.locator("#error")).to_contain_text("not an image")
    assert phone.locator("#result").is_hidden()


def test_the_api_docs_render_offline(phone, server):
    phone.goto(f"{server}/docs")
    phone.wait_for_selector(".swagger-ui .info .title")
    assert "pwocr" in phone.inner_text(".swagger-ui .info .title")
    expect(phone.locator(".opblock-summary-path").first).to_contain_text("/v1/read")
    assert phone.outside == []


def test_a_photo_over_the_pixel_limit_is_scaled_down_by_the_page(browser, tiny_checkpoint):
    """A phone's 48 MP photo against a 40 MP server, in miniature: the page sends a smaller JPEG, not a 413."""
    from PIL import Image

    large = png(TINY_LABELS[4])
    image = Image.open(io.BytesIO(large))
    big = image.resize((image.width * 4, image.height * 4), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    big.save(buffer, "PNG")
    settings = ServeSettings(threads=1, max_pixels=image.width * image.height * 4)  # a quarter of the photo's
    with running(create_app(tiny_checkpoint, settings=settings), settings) as url:
        page = browser.new_page(viewport=PHONE)
        page.goto(f"{url}/")
        read_on_server(page)  # the limits are loaded with the server's presence
        with page.expect_response(f"{url}/v1/read") as answer:
            page.set_input_files(
                "#file", files=[{"name": "big.png", "mimeType": "image/png", "buffer": buffer.getvalue()}]
            )
        assert answer.value.status == 200 and answer.value.json()["image"] == "big-scaled.jpg"
        page.wait_for_selector("#result:not([hidden])")
        assert page.locator("#error").inner_text() == ""
        assert page.get_attribute("#password", "data-text") == TINY_LABELS[4]
        page.close()


def test_a_busy_server_is_asked_again_after_retry_after(phone, server):
    calls: list[int] = []

    def busy_once(route):
        calls.append(1)
        if len(calls) == 1:
            route.fulfill(status=503, headers={"Retry-After": "1"}, json={"detail": "busy"})
        else:
            route.continue_()

    phone.route(f"{server}/v1/read", busy_once)
    phone.goto(f"{server}/")
    read_on_server(phone)
    phone.set_input_files("#file", files=[{"name": "p.png", "mimeType": "image/png", "buffer": png(TINY_LABELS[0])}])
    phone.wait_for_selector("#result:not([hidden])")
    assert len(calls) == 2 and phone.get_attribute("#password", "data-text") == TINY_LABELS[0]


def _desk_photo() -> bytes:
    """A whole photo in miniature: one rendered line on a 600 x 800 page."""
    from PIL import Image

    photo = Image.new("L", (600, 800), 255)
    photo.paste(Image.open(io.BytesIO(png(TINY_LABELS[0]))), (100, 300))
    buffer = io.BytesIO()
    photo.save(buffer, "PNG")
    return buffer.getvalue()


def test_a_whole_photo_is_read_on_the_device_and_never_sent(phone, server):
    """The page's reader finds a whole photo's lines itself (PP-OCRv6's detector in the page): nothing is uploaded."""
    sent: list[str] = []
    phone.on("request", lambda request: sent.append(request.url) if "/v1/" in request.url else None)
    phone.goto(f"{server}/")
    phone.set_input_files("#file", files=[{"name": "desk.png", "mimeType": "image/png", "buffer": _desk_photo()}])
    expect(phone.locator("#status")).to_contain_text("Read the whole photo on this device", timeout=120_000)
    assert phone.inner_text("#error") == ""
    assert phone.locator("#lines-box").is_visible()
    assert sent == []


def test_a_site_without_the_whole_photo_reader_says_to_crop_or_read_on_the_server(
    browser, tiny_checkpoint, onnxruntime_web_folder, monkeypatch
):
    """Built without PP-OCRv6's models, the page reads line crops only: a whole photo gets a way forward."""
    from pwocr.errors import PwocrError
    from pwocr.serving import webapp

    def missing(name: str):
        raise PwocrError(f"{name}: missing")

    monkeypatch.setattr(webapp, "rapidocr_model_path", missing)
    web = WebApp.for_checkpoint(tiny_checkpoint, runtime=onnxruntime_web_folder)
    settings = ServeSettings(threads=1)
    with running(create_app(tiny_checkpoint, settings=settings, web=web), settings) as url:
        page = browser.new_page()
        page.goto(f"{url}/")
        page.set_input_files("#file", files=[{"name": "desk.png", "mimeType": "image/png", "buffer": _desk_photo()}])
        expect(page.locator("#error")).to_contain_text("looks like a whole photo")
        assert "on the server" in page.inner_text("#error")
        assert page.locator("#result").is_hidden()
        assert "one cropped line at a time" in page.inner_text("#privacy")
        page.close()
