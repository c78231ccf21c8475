"""The page's answers to mistakes, limits and failures, as a user (and a screen reader) meets them.

A failed read leaves no earlier password behind; the privacy line says where the photo goes; number
options out of pwocr's bounds are refused before reading; a reader that cannot load says so once;
photos over pwocr's pixel and aspect limits are refused as Python refuses them. Headless chromium on
``pwocr serve`` with the tiny model (``test_browser``'s fixtures).
"""

from __future__ import annotations

import base64
import io
import re
from pathlib import Path

import pytest
from conftest import TINY_LABELS
from live_server import png
from test_browser import CHROMIUM, FAKE_CHARS, PHONE, browser, expect, read_on_server, server, web

from pwocr.options import MAX_CANDIDATES, MAX_LENGTH_OPTION

__all__ = ["browser", "server", "web"]  # fixtures

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).is_file(), reason=f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
)

STATIC = Path(__file__).parents[2] / "src" / "pwocr" / "serving" / "static"


@pytest.fixture
def page(browser, server):
    """A phone-size page on the test server."""
    context = browser.new_context(viewport=PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    page = context.new_page()
    yield page
    context.close()


def ready(page, server: str) -> None:
    page.goto(f"{server}/")
    page.wait_for_selector("body[data-reader=ready]", timeout=60_000)


def choose(page, data: bytes, name: str = "photo.png", mime: str = "image/png") -> None:
    page.set_input_files("#file", files=[{"name": name, "mimeType": mime, "buffer": data}])


def image_bytes(image, fmt: str, **save) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    return buffer.getvalue()


def set_option(page, name: str, value: str) -> None:
    """Type ``value`` into an option's input as a user could (a number input takes "1e6" and "2.5")."""
    page.eval_on_selector(f"[name={name}]", "(el, v) => { el.value = v; }", value)


# ---------------------------------------------------------------- 1. a failed read leaves nothing behind


def test_a_failed_read_hides_the_previous_password(page, server):
    ready(page, server)
    choose(page, png(TINY_LABELS[3]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[3])
    assert page.locator("#copy").is_visible()
    truncated = png(TINY_LABELS[1])[:60]  # the header and a cut-off image stream
    choose(page, truncated, "cut.png")
    expect(page.locator("#error")).to_contain_text("Could not read the photo")
    expect(page.locator("#result")).to_be_hidden()
    assert page.inner_text("[data-reading]") == "" and page.locator("#candidates li").count() == 0


def test_a_bad_option_hides_the_previous_password(page, server):
    ready(page, server)
    choose(page, png(TINY_LABELS[0]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[0])
    page.click("#options summary")
    page.fill("[name=length]", "3")
    page.fill("[name=min_length]", "2")  # contradicts length: the reader refuses it
    choose(page, png(TINY_LABELS[1]))
    expect(page.locator("#error")).to_contain_text("length cannot be combined")
    expect(page.locator("#result")).to_be_hidden()
    assert page.inner_text("[data-reading]") == ""


# ---------------------------------------------------------------- 2. the privacy line


def test_the_privacy_line_says_when_the_photo_is_sent_to_the_server(page, server):
    ready(page, server)
    assert "nothing is uploaded" in page.inner_text("#privacy")
    read_on_server(page)
    privacy = page.inner_text("#privacy")
    assert "sent to" in privacy and "server" in privacy and "nothing is uploaded" not in privacy
    choose(page, png(TINY_LABELS[2]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[2])
    status = page.inner_text("#status")
    assert "on the server" in status and "sent" in status
    page.check("input[name=where][value=device]")
    assert "nothing is uploaded" in page.inner_text("#privacy")
    choose(page, png(TINY_LABELS[2]))
    expect(page.locator("#status")).to_contain_text("on this device")


# ---------------------------------------------------------------- 3. number options


def test_the_page_keeps_pwocr_options_bounds_in_its_reader():
    """decode.js refuses values out of the same bounds as the CLI, the API and the form."""
    decode = (STATIC / "reader" / "decode.js").read_text()
    assert re.search(r"export const MAX_CANDIDATES = (\d+);", decode).group(1) == str(MAX_CANDIDATES)
    assert re.search(r"export const MAX_LENGTH_OPTION = (\d+);", decode).group(1) == str(MAX_LENGTH_OPTION)


BAD_OPTIONS = [
    ("candidates", "1000", "Candidates"),  # first: without the check it lists 999 candidates, quickly
    ("candidates", "0", "Candidates"),
    ("candidates", "2.5", "Candidates"),
    ("candidates", "1e6", "Candidates"),
    ("length", "0", "Exact length"),
    ("length", "-3", "Exact length"),
    ("length", "2.5", "Exact length"),
    ("length", "257", "Exact length"),
    ("min_length", "-2", "Min length"),
    ("max_length", "0", "Max length"),
]


@pytest.mark.parametrize("where", ["device", "server"])
def test_number_options_out_of_bounds_are_refused_before_reading(page, server, where):
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    ready(page, server)
    if where == "server":
        read_on_server(page)
    else:
        page.click("#options summary")
    for name, value, label in BAD_OPTIONS:
        page.fill("[name=candidates]", "5")
        for other in ("length", "min_length", "max_length"):
            page.fill(f"[name={other}]", "")
        set_option(page, name, value)
        page.evaluate("() => { document.getElementById('error').textContent = ''; }")
        choose(page, png(TINY_LABELS[0]))
        expect(page.locator("#error")).to_have_text(re.compile(rf"^{label} must be a whole number from \d+ to \d+"))
        assert value in page.inner_text("#error"), name
        assert page.locator("#result").is_hidden()
    assert posts == []
    # In bounds, the same options read.
    page.fill("[name=candidates]", str(MAX_CANDIDATES))
    page.fill("[name=max_length]", str(MAX_LENGTH_OPTION))
    choose(page, png(TINY_LABELS[0]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[0])
    assert page.inner_text("#error") == ""


#: Reads one file with the site's worker under each set of options: each answer's candidate count, or its error.
READ_WITH_OPTIONS = """async ([b64, choices]) => {
  const worker = new Worker("reader/worker.js", { type: "module" });
  const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  const out = [];
  for (const [i, options] of choices.entries()) {
    out.push(await new Promise((resolve) => {
      setTimeout(() => resolve("still reading after 15 s"), 15000);
      worker.onmessage = ({ data }) => {
        if (data.id !== i) return;
        if (data.type === "reading") resolve(data.reading.candidates.length);
        else if (data.type === "error") resolve(data.message);
      };
      worker.postMessage({ type: "read", id: i, file: new File([bytes], "line.png", { type: "image/png" }), options });
    }));
  }
  worker.terminate();
  return out;
}"""


def test_the_reader_itself_refuses_options_out_of_bounds(page, server):
    """Whatever sends it options (not only the form), the worker answers at once, never searching for minutes."""
    ready(page, server)
    choices = [
        {"candidates": "1e6"}, {"candidates": 1000}, {"candidates": "2.5"}, {"length": "100000"},
        {"length": 0}, {"min_length": "-2"}, {"max_length": "0"}, {"candidates": "3"},
    ]  # fmt: skip
    answers = page.evaluate(READ_WITH_OPTIONS, [base64.b64encode(png(TINY_LABELS[0])).decode(), choices])
    for choice, answer in zip(choices[:-1], answers[:-1], strict=True):
        ((key, value),) = choice.items()
        assert isinstance(answer, str) and answer.startswith(f"{key} must be a whole number"), (choice, answer)
        assert str(value) in answer
    assert answers[-1] == 3


# ---------------------------------------------------------------- 4. dark mode


def _luminance(rgb: str) -> float:
    channels = [int(v) / 255 for v in re.findall(r"\d+(?:\.\d+)?", rgb)[:3]]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    high, low = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


@pytest.mark.parametrize("scheme", ["dark", "light"])
def test_the_look_alike_labels_of_uncertain_characters_are_legible(browser, server, scheme):
    answer = {"image": "p.png", "text": "al0", "confidence": 0.41, "candidates": [], "chars": FAKE_CHARS}
    context = browser.new_context(viewport=PHONE, color_scheme=scheme, service_workers="block")
    page = context.new_page()
    page.route(f"{server}/v1/read", lambda route: route.fulfill(status=200, json=answer))
    page.goto(f"{server}/")
    read_on_server(page)
    choose(page, png("a1!"))
    name = page.locator("#password .ch.uncertain .name")
    expect(name).to_have_text("low L")
    colours = name.evaluate("(el) => [getComputedStyle(el).color, getComputedStyle(el.closest('.ch')).backgroundColor]")
    assert _contrast(*colours) >= 4.5, colours
    context.close()


# ---------------------------------------------------------------- 5. accessibility


def test_a_read_is_announced_and_focus_lands_on_the_first_uncertain_character(page, server):
    answer = {"image": "p.png", "text": "al0", "confidence": 0.41, "candidates": [], "chars": FAKE_CHARS}
    page.route(f"{server}/v1/read", lambda route: route.fulfill(status=200, json=answer))
    ready(page, server)
    # Whether <body> was ever marked busy: that would hold back the status line's announcements.
    page.evaluate(
        """() => { window.bodyBusy = false; new MutationObserver(() => { if (document.body.hasAttribute('aria-busy'))
        window.bodyBusy = true; }).observe(document.body, { attributes: true }); }"""
    )
    read_on_server(page)
    choose(page, png("a1!"))
    expect(page.locator("#status")).to_contain_text("Read 3 characters, 1 uncertain")
    assert "al0" not in page.inner_text("#status")  # the live region never speaks the password
    assert page.evaluate("document.activeElement.dataset.index") == "1"
    assert page.evaluate("window.bodyBusy") is False
    group = page.get_by_role("group", name=re.compile("^Password: small a"))
    expect(group).to_have_count(1)


def test_a_line_read_on_the_device_is_announced(page, server):
    ready(page, server)
    choose(page, png(TINY_LABELS[3]))
    expect(page.locator("#status")).to_have_text(re.compile(r"^Read 3 characters.*on this device"))
    assert TINY_LABELS[3] not in page.inner_text("#status")


# ---------------------------------------------------------------- 6. a reader that cannot load


def test_a_missing_model_description_reads_on_the_server_instead(page, server):
    page.context.route(
        "**/model/model.json", lambda route: route.fulfill(status=404, body="<!DOCTYPE html><p>not found")
    )
    page.goto(f"{server}/")
    page.wait_for_selector("body[data-reader=failed]", timeout=60_000)
    expect(page.locator("#status")).to_have_text(
        "The reader could not load (model/model.json: 404); reading on the server instead."
    )
    assert page.locator("#loading").is_hidden() and page.inner_text("#error") == ""
    privacy = page.inner_text("#privacy")
    assert "server" in privacy and "nothing is uploaded" not in privacy
    with page.expect_response(f"{server}/v1/read"):
        choose(page, png(TINY_LABELS[5]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[5])


def test_a_missing_model_without_a_server_says_the_page_cannot_read(page, server):
    page.context.route("**/health", lambda route: route.fulfill(status=404, body="not found"))
    page.context.route("**/model/recognizer.onnx", lambda route: route.fulfill(status=404, body="not found"))
    finished: list[str] = []
    page.context.on("requestfinished", lambda r: finished.append(r.url))
    page.goto(f"{server}/")
    page.wait_for_selector("body[data-reader=failed]", timeout=60_000)
    expect(page.locator("#error")).to_have_text(
        "The reader could not load (model/recognizer.onnx: 404): this page cannot read photos."
    )
    assert "cannot read photos" in page.inner_text("#privacy")
    # The bar stays hidden while (and after) the WebAssembly still arrives: no later progress shows it again.
    for _ in range(100):
        if page.locator("#loading").is_visible():
            break
        if any(url.endswith(".wasm") for url in finished):
            page.wait_for_timeout(300)
            break
        page.wait_for_timeout(50)
    assert page.locator("#loading").is_hidden()
    choose(page, png(TINY_LABELS[5]))
    expect(page.locator("#error")).to_contain_text("could not load")
    assert page.locator("#loading").is_hidden() and page.locator("#result").is_hidden()


# ---------------------------------------------------------------- 7. pwocr's image limits


def test_photos_over_pwocrs_limits_are_refused_as_python_refuses_them(page, server):
    from PIL import Image

    huge = image_bytes(Image.new("1", (11_000, 11_000), 1), "PNG")  # 121 MP, a few kB
    sliver = Image.new("L", (5_000, 2), 255)
    # A JPEG whose frame header lies past the first 64 kB (a large ICC profile): refused by its decoded size.
    far_header = image_bytes(Image.new("L", (3_000, 2), 255), "JPEG", icc_profile=b"\0" * 150_000)
    cases = [
        (huge, "huge.png", "image/png", "huge.png: 11000x11000 is 121 MP, more than the 120 MP pwocr decodes"),
        (image_bytes(sliver, "PNG"), "s.png", "image/png", "s.png: 5000x2 is a sliver, not a photo or a text line (over 1000:1)"),
        (image_bytes(sliver, "JPEG"), "s.jpg", "image/jpeg", "s.jpg: 5000x2 is a sliver"),
        (image_bytes(sliver, "GIF"), "s.gif", "image/gif", "s.gif: 5000x2 is a sliver"),
        (image_bytes(sliver, "WEBP", lossless=True), "s.webp", "image/webp", "s.webp: 5000x2 is a sliver"),
        (image_bytes(sliver, "BMP"), "s.bmp", "image/bmp", "s.bmp: 5000x2 is a sliver"),
        (far_header, "far.jpg", "image/jpeg", "far.jpg: 3000x2 is a sliver"),
    ]  # fmt: skip
    ready(page, server)
    for data, name, mime, message in cases:
        page.evaluate("() => { document.getElementById('error').textContent = ''; }")
        choose(page, data, name, mime)
        expect(page.locator("#error")).to_contain_text(message, timeout=15_000)
        assert page.locator("#result").is_hidden()
    # A long line within the limits still reads.
    choose(page, png(TINY_LABELS[1]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[1])


def test_python_words_the_limits_as_the_page_does(tmp_path):
    """The page's messages are Python's (pwocr.data.images), and its limits Python's constants."""
    from PIL import Image

    from pwocr.data.images import MAX_ASPECT, MAX_PIXELS, ImageError, load

    worker = (STATIC / "reader" / "worker.js").read_text()
    assert f"const MAX_PIXELS = {MAX_PIXELS:_};" in worker and f"const MAX_ASPECT = {MAX_ASPECT};" in worker
    path = tmp_path / "s.png"
    Image.new("L", (5_000, 2), 255).save(path)
    with pytest.raises(
        ImageError, match=re.escape("s.png: 5000x2 is a sliver, not a photo or a text line (over 1000:1)")
    ):
        load(path)


# ---------------------------------------------------------------- the lesser ones: copying, a photo chosen while busy


def test_a_failed_copy_does_not_say_copied(browser, server):
    context = browser.new_context(viewport=PHONE)
    context.add_init_script(
        "navigator.clipboard.writeText = () => Promise.reject(new Error('denied'));document.execCommand = () => false;"
    )
    page = context.new_page()
    ready(page, server)
    choose(page, png(TINY_LABELS[0]))
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[0])
    page.click("#copy")
    expect(page.locator("#copied")).to_contain_text("Could not copy")
    context.close()


DROP_TWO = """async ([first, second]) => {
  const drop = (b64) => {
    const dt = new DataTransfer();
    dt.items.add(new File([Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], "p.png", { type: "image/png" }));
    document.getElementById('drop').dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
  };
  drop(first);
  drop(second);  // while the first is being read
}"""


def test_a_photo_chosen_while_another_is_read_is_read_next(page, server):
    ready(page, server)
    first, second = (base64.b64encode(png(text)).decode() for text in (TINY_LABELS[0], TINY_LABELS[4]))
    page.evaluate(DROP_TWO, [first, second])
    expect(page.locator("#password")).to_have_attribute("data-text", TINY_LABELS[4])
    assert page.inner_text("#error") == ""
