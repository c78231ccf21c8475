"""Malformed and ambiguous requests over real HTTP: one-line refusals, and nothing of an upload in the server's log."""

import logging

import pytest
import requests
from live_server import png, running

from pwocr.inference.recognizer import Recognizer
from pwocr.serving.app import create_app
from pwocr.serving.settings import ServeSettings

SETTINGS = ServeSettings(max_body_bytes=2_000_000, body_timeout=5.0, head_timeout=5.0)


@pytest.fixture(scope="module")
def server(tiny_checkpoint):
    app = create_app(recognizer=Recognizer(tiny_checkpoint, threads=1), settings=SETTINGS)
    with running(app, SETTINGS) as url:
        yield url


def test_a_malformed_form_is_400_and_none_of_its_bytes_reach_the_log(server, capsys, caplog):
    caplog.set_level(logging.DEBUG)
    body = b"--\x89PNG\r\n\x1a\n" + png("abc")
    headers = {"Content-Type": "multipart/form-data; boundary=xyz"}
    response = requests.post(f"{server}/v1/read", data=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["detail"].startswith("malformed multipart body")
    assert "\n" not in response.json()["detail"]
    assert not [r for r in caplog.records if "multipart" in r.name], [r.getMessage() for r in caplog.records]
    assert "boundary" not in capsys.readouterr().err


def test_two_file_parts_are_refused_not_read_at_random(server):
    files = [("file", ("a.png", png("abc"))), ("file", ("b.png", png("77b")))]
    response = requests.post(f"{server}/v1/read", files=files)
    assert response.status_code == 400
    assert response.json() == {"detail": "the form has more than one part named 'file': send one image"}


def test_one_file_part_beside_options_still_reads(server):
    response = requests.post(f"{server}/v1/read", files={"file": ("a.png", png("77b"))}, data={"candidates": "2"})
    assert response.status_code == 200 and response.json()["image"] == "a.png"


@pytest.mark.parametrize("path", ["/v1/read", "/read"])
def test_a_get_of_a_post_only_path_is_405_with_allow(server, path):
    response = requests.get(f"{server}{path}")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.json()["detail"] == f"GET is not allowed on {path}: it takes POST"


def test_other_paths_are_still_the_web_app(server):
    assert requests.get(f"{server}/").status_code == 200
    assert requests.get(f"{server}/no-such-file.js").status_code == 404
    assert requests.put(f"{server}/v1/read").status_code == 405
