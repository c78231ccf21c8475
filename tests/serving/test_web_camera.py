"""The live camera: chromium's fake camera plays a rendered password line; the page fuses its frames and stops.

Skipped where chromium, playwright or npm (onnxruntime-web) is missing, saying so.
"""

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw
from web_site import CHROMIUM, CHROMIUM_ARGS, PHONE, site, static_server

from pwocr.synth.fonts import fonts_for, load_font

__all__ = ["site"]  # fixtures

PASSWORD = "Kq7#vR2m"


def camera_clip(path: Path, text: str, frames: int = 20) -> None:
    """A 640x480 clip (y4m, what chromium's fake camera plays) of ``text`` in the middle of the picture, shaking a little."""
    font = load_font(fonts_for("train")[0].path, 64)
    rng = np.random.default_rng(0)
    with open(path, "wb") as out:
        out.write(b"YUV4MPEG2 W640 H480 F10:1 Ip A1:1 C420jpeg\n")
        for _ in range(frames):
            picture = Image.new("RGB", (640, 480), (236, 236, 228))
            dx, dy = rng.integers(-4, 5, 2)
            ImageDraw.Draw(picture).text((110 + dx, 205 + dy), text, font=font, fill=(20, 20, 30))
            out.write(b"FRAME\n" + cv2.cvtColor(np.asarray(picture), cv2.COLOR_RGB2YUV_I420).tobytes())


def test_pointing_the_camera_reads_the_password_from_fused_frames(site, tmp_path):
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    clip = tmp_path / "camera.y4m"
    camera_clip(clip, PASSWORD)
    fake_camera = [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}",
    ]
    with static_server(site, tmp_path / "http.log") as url, sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS + fake_camera)
        context = browser.new_context(viewport=PHONE)
        context.grant_permissions(["camera"], origin=url)
        page = context.new_page()
        page.goto(f"{url}/")
        page.wait_for_selector("body[data-reader=ready]", timeout=120_000)
        page.click("#live")
        page.wait_for_selector("#result:not([hidden])", timeout=120_000)
        assert page.inner_text("[data-reading]") == PASSWORD
        assert "fused from" in page.inner_text("#meta")
        assert page.locator("#live-box").is_hidden()  # it stopped by itself
        browser.close()
