"""The first server's contract over real HTTP (``/read``, raw body), and the ``pwocr serve`` command itself."""

import json
import socket
import time
import urllib.error
import urllib.request

import pytest
from conftest import TINY_LABELS
from live_server import png, running

from pwocr.serving.app import create_app


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    with running(create_app(tiny_checkpoint)) as url:
        yield url


def post(url, body):
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": "application/octet-stream"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


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


@pytest.mark.parametrize(("body", "status"), [(b"", 400), (b"not an image", 415)])
def test_bad_bodies_get_a_clear_status(server, body, status):
    with pytest.raises(urllib.error.HTTPError) as e:
        post(f"{server}/read", body)
    assert e.value.code == status
    assert "detail" in json.loads(e.value.read())


def test_pwocr_serve_command_serves(tiny_checkpoint, tmp_path):
    """The README's ``pwocr serve`` and ``curl`` commands as a user runs them, with the token from the environment."""
    import os
    import subprocess
    import sys

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    command = [sys.executable, "-m", "pwocr.cli.main", "serve", "--checkpoint_path", str(tiny_checkpoint)]
    command += ["--port", str(port), "--running", "1", "--queue", "2", "--threads", "1"]
    env = {**os.environ, "PWOCR_TOKEN": "s3cret"}
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
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
        photo = tmp_path / "photo.png"
        photo.write_bytes(png(TINY_LABELS[0]))
        url = f"http://127.0.0.1:{port}"

        def curl(*args: str) -> tuple[int, str]:
            out = subprocess.run(
                ["curl", "-s", "-w", "\n%{http_code}", *args], capture_output=True, text=True, check=True
            ).stdout
            body, _, code = out.rpartition("\n")
            return int(code), body

        token = ["-H", "Authorization: Bearer s3cret"]
        assert curl("-F", f"file=@{photo}", f"{url}/v1/read?candidates=3")[0] == 401
        code, body = curl(*token, "-F", f"file=@{photo}", f"{url}/v1/read?candidates=3")
        assert code == 200 and json.loads(body)["text"] == TINY_LABELS[0]
        code, body = curl(*token, "--data-binary", f"@{photo}", f"{url}/read?candidates=3")
        assert code == 200 and json.loads(body)["text"] == TINY_LABELS[0]
        assert json.loads(curl(f"{url}/health")[1])["queue"]["capacity"] == 3
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_contradictory_constraints_are_refused_like_the_cli(server):
    with pytest.raises(urllib.error.HTTPError) as e:
        post(f"{server}/read?length=3&max_length=2", png("abc"))
    assert e.value.code == 422
    assert "cannot be combined" in json.loads(e.value.read())["detail"]
