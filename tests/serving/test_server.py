"""The server over real HTTP: uvicorn on a free local port, requests from urllib."""

import io
import json
import socket
import threading
import time
import urllib.error
import urllib.request

import pytest
import uvicorn
from conftest import TINY_LABELS, draw_line

from pwocr.serving.app import create_app


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = uvicorn.Config(create_app(tiny_checkpoint), host="127.0.0.1", port=port, log_level="warning")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.time() + 20
    while not instance.started and time.time() < deadline:
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    thread.join(timeout=10)


def post(url, body):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def png(text):
    buffer = io.BytesIO()
    draw_line(text).save(buffer, "PNG")
    return buffer.getvalue()


def test_health(server):
    with urllib.request.urlopen(f"{server}/health", timeout=10) as response:
        body = json.loads(response.read())
    assert body["status"] == "ok" and body["model"] == "crnn-tiny"


def test_read_returns_the_same_structure_as_the_cli(server):
    body = post(f"{server}/read?candidates=3", png(TINY_LABELS[3]))
    assert body["text"] == TINY_LABELS[3]
    assert {"image", "text", "raw", "confidence", "candidates", "chars"} <= set(body)
    assert body["candidates"][0]["text"] == body["text"]


def test_read_applies_constraints(server):
    body = post(f"{server}/read?charset=digits&candidates=2", png("77b"))
    assert body["text"].isdigit()


@pytest.mark.parametrize(("body", "status"), [(b"", 400), (b"not an image", 422)])
def test_bad_bodies_get_a_clear_status(server, body, status):
    with pytest.raises(urllib.error.HTTPError) as e:
        post(f"{server}/read", body)
    assert e.value.code == status
    assert "detail" in json.loads(e.value.read())


def test_pwocr_serve_command_serves(tiny_checkpoint, tmp_path):
    """The README's ``pwocr serve`` and ``curl --data-binary`` commands, as a user runs them."""
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "pwocr.cli.main",
            "serve",
            "--checkpoint_path",
            str(tiny_checkpoint),
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).close()
                break
            except OSError:
                if time.time() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.2)
        (tmp_path / "photo.png").write_bytes(png(TINY_LABELS[0]))
        out = subprocess.run(
            ["curl", "-s", "--data-binary", f"@{tmp_path / 'photo.png'}", f"http://127.0.0.1:{port}/read?candidates=3"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert json.loads(out)["text"] == TINY_LABELS[0]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_contradictory_constraints_are_refused_like_the_cli(server):
    with pytest.raises(urllib.error.HTTPError) as e:
        post(f"{server}/read?length=3&max_length=2", png("abc"))
    assert e.value.code == 422
    assert "cannot be combined" in json.loads(e.value.read())["detail"]
