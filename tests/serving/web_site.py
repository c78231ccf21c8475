"""The exported site on a plain static server (``python -m http.server``, no pwocr process), and a browser to open it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from live_server import free_port

from pwocr.serving.webapp import export_web

CHROMIUM = os.environ.get("PWOCR_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
PHONE = {"width": 390, "height": 844}
#: Headless chromium that asks nothing of the network by itself (no updates, no sync, no probes).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def static_server(folder: Path, log: Path) -> Iterator[str]:
    """``python -m http.server`` over ``folder`` on a free loopback port; every request it gets is logged to ``log``."""
    port = free_port()
    with open(log, "w") as sink:
        server = subprocess.Popen(
            [sys.executable, "-m", "http.server", "--bind", "127.0.0.1", "--directory", str(folder), str(port)],
            stdout=sink,
            stderr=sink,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    urllib.request.urlopen(f"{url}/manifest.webmanifest", timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or server.poll() is not None:
                        raise RuntimeError("the static server did not start") from None
                    time.sleep(0.05)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=10)


def requests_logged(log: Path) -> list[str]:
    """The request lines http.server logged (``"GET /path HTTP/1.1"``)."""
    return [line for line in log.read_text().splitlines() if '"GET ' in line or '"POST ' in line or '"HEAD ' in line]


@pytest.fixture(scope="module")
def site(tmp_path_factory, onnxruntime_web_folder) -> Path:
    """The site ``pwocr export-web`` writes for the shipped model."""
    out = tmp_path_factory.mktemp("site")
    export_web(out, runtime=onnxruntime_web_folder)
    return out


@pytest.fixture(scope="module")
def chromium():
    """Debian's headless chromium under Playwright (skipped, saying why, where either is missing)."""
    if not Path(CHROMIUM).is_file():
        pytest.skip(f"no chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (pip install -e .[dev])")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


#: Reads files with the site's own worker, one at a time, and returns their readings (the JSON of recognize --json).
READ_IN_WORKER = """async ([images, options]) => {
  const worker = new Worker("reader/worker.js", { type: "module" });
  const read = (name, bytes) => new Promise((resolve, reject) => {
    worker.onmessage = ({ data }) => {
      if (data.type === "reading") resolve(data.reading);
      else if (data.type === "error") reject(new Error(data.message));
    };
    worker.postMessage({ type: "read", id: name, file: new File([bytes], name, { type: "image/png" }), options });
  });
  const out = [];
  for (const [name, b64] of images) out.push(await read(name, Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))));
  worker.terminate();
  return out;
}"""
