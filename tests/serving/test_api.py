"""``/v1/read`` over real HTTP: multipart and raw bodies, options, and every limit a hostile client meets."""

import io
import socket
import tempfile
import threading

import pytest
import requests
from conftest import TINY_LABELS
from live_server import png, running
from PIL import Image

from pwocr.inference.recognizer import Recognizer
from pwocr.serving.app import ReadService, charset_of, create_app
from pwocr.serving.gate import Gate
from pwocr.serving.limits import HTTPRefusal
from pwocr.serving.schemas import ReadOptions
from pwocr.serving.settings import ServeSettings

SETTINGS = ServeSettings(max_body_bytes=2_000_000, max_pixels=4_000_000, body_timeout=2.0, head_timeout=1.0)


@pytest.fixture(scope="module")
def recognizer(tiny_checkpoint):
    return Recognizer(tiny_checkpoint, threads=1)


@pytest.fixture(scope="module")
def server(recognizer):
    with running(create_app(recognizer=recognizer, settings=SETTINGS), SETTINGS) as url:
        yield url


def test_the_servers_detector_keeps_no_arena(recognizer):
    """A large photo's feature maps (over 300 MB) are given back after its reading (bench/server_memory.py)."""
    detector = ReadService(recognizer, SETTINGS).text_detector()
    assert detector.session.get_session_options().enable_cpu_mem_arena is False


def test_multipart_upload_reads_like_the_cli(server):
    response = requests.post(f"{server}/v1/read?candidates=3", files={"file": ("photo.png", png(TINY_LABELS[1]))})
    assert response.status_code == 200
    body = response.json()
    assert body["text"] == TINY_LABELS[1]
    assert body["image"] == "photo.png"
    assert body["candidates"][0]["text"] == body["text"] and len(body["candidates"]) <= 3


def test_options_as_form_fields(server):
    response = requests.post(
        f"{server}/v1/read", files={"file": ("x.png", png("77b"))}, data={"charset": "digits", "candidates": "2"}
    )
    assert response.status_code == 200
    assert response.json()["text"].isdigit() and len(response.json()["candidates"]) == 2


def test_raw_body_and_the_old_endpoint_answer_the_same(server):
    new = requests.post(f"{server}/v1/read", data=png(TINY_LABELS[0])).json()
    old = requests.post(f"{server}/read", data=png(TINY_LABELS[0])).json()
    assert new == old and new["image"] == "<request body>"


def test_an_unencoded_plus_in_charset_is_read_as_plus(server):
    # requests encodes the space as '+', which is exactly what a user typing alnum+punctuation sends.
    spaced = requests.post(f"{server}/v1/read", params={"charset": "alnum punctuation"}, data=png("M#m")).json()
    joined = requests.post(f"{server}/v1/read", params={"charset": "alnum+punctuation"}, data=png("M#m")).json()
    assert spaced["text"] == joined["text"] == "M#m"
    assert charset_of("digits lower") == charset_of("digits+lower")


@pytest.mark.parametrize(
    ("data", "status", "words"),
    [
        (b"", 400, "empty"),
        (b"not an image at all", 415, "not an image"),
        (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", 415, "not an image"),
        (png("abc")[:60], 422, "unreadable"),
    ],
)
def test_bad_bodies_get_a_one_line_reason(server, data, status, words):
    response = requests.post(f"{server}/v1/read", data=data)
    assert response.status_code == status
    assert words in response.json()["detail"] and "\n" not in response.json()["detail"]


def test_the_415_names_heic_among_the_formats_it_reads(server):
    # Named before any HEIC photo was posted: the HEIF plugin registers itself only on the first one.
    detail = requests.post(f"{server}/v1/read", data=b"not an image at all").json()["detail"]
    assert "HEIC" in detail and "PNG" in detail and "JPEG" in detail


@pytest.mark.parametrize(
    "query",
    ["candidates=0", "candidates=51", "length=3&max_length=2", "charset=digit", "min_length=9&max_length=3"],
)
def test_bad_options_are_422_with_a_reason(server, query):
    response = requests.post(f"{server}/v1/read?{query}", data=png("abc"))
    assert response.status_code == 422
    assert isinstance(response.json()["detail"], str)


def test_a_form_without_a_file_is_400(server):
    response = requests.post(f"{server}/v1/read", files={"candidates": (None, "2")})
    assert response.status_code == 400 and "file" in response.json()["detail"]


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(server):
    """Only the head is sent: the 413 must come back without the server waiting for 300 MB."""
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=10) as s:
        s.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\nContent-Length: 300000000\r\n\r\n")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413")


def test_a_chunked_body_is_cut_off_at_the_limit(server):
    def chunks():
        for _ in range(100):  # 6.4 MB, over the 2 MB test limit, with no Content-Length
            yield b"\0" * 65536

    response = requests.post(f"{server}/v1/read", data=chunks())
    assert response.status_code == 413


def test_pixels_are_counted_from_the_header(server):
    buffer = io.BytesIO()
    Image.new("1", (3000, 2000)).save(buffer, "PNG")  # 6 MP in a few KB: over the 4 MP test limit
    response = requests.post(f"{server}/v1/read", data=buffer.getvalue())
    assert response.status_code == 413 and "MP" in response.json()["detail"]


def test_a_decompression_bomb_is_413_not_500(server):
    buffer = io.BytesIO()
    Image.new("1", (20000, 20000)).save(buffer, "PNG")  # 400 MP in about 50 KB
    response = requests.post(f"{server}/v1/read", files={"file": ("bomb.png", buffer.getvalue())})
    assert response.status_code == 413


def test_a_slow_body_is_408(server):
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=15) as s:
        s.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n" + b"\x89PNG")
        answer = s.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408")


def test_a_connection_that_never_finishes_its_head_is_closed(server):
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=15) as s:
        s.sendall(b"POST /v1/read HTTP/1.1\r\nHost: x\r\n")  # and never the blank line
        assert s.recv(4096) == b""  # closed by the server (the 15 s socket timeout would raise instead)


def test_a_kept_alive_connection_must_finish_its_next_head_too(server):
    with socket.create_connection(("127.0.0.1", int(server.rsplit(":", 1)[1])), timeout=15) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        head = s.recv(65536)
        assert head.startswith(b"HTTP/1.1 200")
        s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # data arrives, so uvicorn's keep-alive timer stops
        while chunk := s.recv(65536):  # the rest of the first answer, then the close
            assert not chunk.startswith(b"HTTP/1.1")


def test_uploads_never_touch_the_disk(server, monkeypatch):
    """A 1.5 MB upload (Starlette would spool it to a file above 1 MB) with every temporary-file maker broken."""

    def refuse(*args, **kwargs):
        raise AssertionError("an upload was written to disk")

    for name in ("SpooledTemporaryFile", "TemporaryFile", "NamedTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, refuse)
    padded = png(TINY_LABELS[2]) + b"\0" * 1_500_000  # Pillow ignores bytes after the image
    response = requests.post(f"{server}/v1/read", files={"file": ("big.png", padded)})
    assert response.status_code == 200 and response.json()["text"] == TINY_LABELS[2]


def test_health_names_no_path(server, tiny_checkpoint):
    body = requests.get(f"{server}/health").json()
    assert body["status"] == "ok" and body["checkpoint"] == "tiny.safetensors"
    assert str(tiny_checkpoint.parent) not in str(body)
    assert body["limits"]["max_pixels"] == SETTINGS.max_pixels and body["queue"]["capacity"] == 10


def test_docs_load_nothing_from_outside(server):
    for path in ("/docs", "/redoc", "/"):
        html = requests.get(f"{server}{path}").text
        assert "http://" not in html and "https://" not in html, path
    assert requests.get(f"{server}/docs-assets/swagger-ui-bundle.js").status_code == 200
    spec = requests.get(f"{server}/openapi.json").json()
    body = spec["paths"]["/v1/read"]["post"]["requestBody"]["content"]
    assert {"multipart/form-data", "application/octet-stream"} <= set(body)
    form = body["multipart/form-data"]["schema"]["properties"]
    assert set(form) == {"file", *ReadOptions.model_fields}  # every option the form takes, layout included
    assert form["layout"]["enum"] == ["auto", "line", "photo"] and form["charset"]["maxLength"] == 512
    assert "ReadingOut" in spec["components"]["schemas"]


def test_the_page_and_its_font_are_served(server):
    page = requests.get(f"{server}/")
    assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
    assert requests.get(f"{server}/fonts/page-mono.ttf").content[:4] == b"\0\1\0\0"


def test_a_token_is_required_when_set(recognizer):
    settings = ServeSettings(token="s3cret")
    with running(create_app(recognizer=recognizer, settings=settings), settings) as url:
        image = png(TINY_LABELS[0])
        assert requests.post(f"{url}/v1/read", data=image).status_code == 401
        wrong = requests.post(f"{url}/v1/read", data=image, headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401 and wrong.headers["www-authenticate"] == "Bearer"
        right = requests.post(f"{url}/v1/read", data=image, headers={"Authorization": "Bearer s3cret"})
        assert right.status_code == 200 and right.json()["text"] == TINY_LABELS[0]
        assert requests.get(f"{url}/health").json()["limits"]["token_required"] is True


class BlockingRecognizer:
    """Wraps a recognizer so a reading waits until the test lets it go."""

    def __init__(self, inner: Recognizer) -> None:
        self.inner = inner
        self.entered = threading.Event()
        self.release = threading.Event()

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def read(self, *args, **kwargs):
        self.entered.set()
        assert self.release.wait(30)
        return self.inner.read(*args, **kwargs)


def test_beyond_the_queue_bound_the_answer_is_503_with_retry_after(recognizer):
    blocking = BlockingRecognizer(recognizer)
    settings = ServeSettings(running=1, waiting=0)
    with running(create_app(recognizer=blocking, settings=settings), settings) as url:
        first: list[requests.Response] = []
        thread = threading.Thread(target=lambda: first.append(requests.post(f"{url}/v1/read", data=png("a1!"))))
        thread.start()
        assert blocking.entered.wait(30)
        refused = requests.post(f"{url}/v1/read", data=png("a1!"))
        blocking.release.set()
        thread.join(30)
    assert refused.status_code == 503 and int(refused.headers["retry-after"]) >= 1
    assert first[0].status_code == 200


def test_gate_counts():
    import asyncio

    async def scenario():
        gate = Gate(running=1, waiting=1)
        async with gate.admit(), gate.admit():
            assert gate.waiting == 2
            with pytest.raises(HTTPRefusal) as e:
                async with gate.admit():
                    pass
            assert e.value.status == 503 and "Retry-After" in e.value.headers
            async with gate.slot():
                assert gate.running == 1 and gate.waiting == 1
        assert gate.waiting == 0 and gate.running == 0

    asyncio.run(scenario())


def test_an_iphone_heic_photo_is_read(server):
    pillow_heif = pytest.importorskip("pillow_heif", reason="pillow-heif is not installed")
    pillow_heif.register_heif_opener()
    from conftest import draw_line

    buffer = io.BytesIO()
    draw_line(TINY_LABELS[5]).convert("RGB").save(buffer, "HEIF", quality=-1)  # lossless
    response = requests.post(f"{server}/v1/read", files={"file": ("IMG_0001.HEIC", buffer.getvalue())})
    assert response.status_code == 200, response.text
    assert response.json()["image"] == "IMG_0001.HEIC"


def test_pixel_budget_lets_one_maximal_image_decode_at_a_time():
    from pwocr.serving.gate import PixelBudget

    budget = PixelBudget(10)
    order: list[str] = []

    def decode_second() -> None:
        with budget.take(6):
            order.append("second")

    with budget.take(6):
        second = threading.Thread(target=decode_second)
        second.start()
        second.join(0.2)
        order.append("first done")
    second.join(10)
    assert order == ["first done", "second"]
    with budget.take(50):  # larger than the whole budget: takes it all, never waits forever
        pass


def test_a_form_of_thousands_of_parts_is_refused(server):
    parts = [("field", (None, "x")) for _ in range(5000)] + [("file", ("x.png", png("a1!")))]
    response = requests.post(f"{server}/v1/read", files=parts)
    assert response.status_code == 413 and "parts" in response.json()["detail"]


def test_uvicorn_s_own_refusals_are_json_and_503_says_when_to_retry(recognizer):
    settings = ServeSettings(max_connections=2, head_timeout=5.0)
    with running(create_app(recognizer=recognizer, settings=settings), settings) as url:
        port = int(url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=15) as garbage:
            garbage.sendall(b"NOT HTTP AT ALL\r\n\r\n")
            answer = b""
            while chunk := garbage.recv(65536):
                answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400") and b"application/json" in head
        assert requests.models.complexjson.loads(body)["detail"].startswith("malformed HTTP request")
        with socket.create_connection(("127.0.0.1", port), timeout=15) as stalled:
            stalled.sendall(b"GET /health HTTP/1.1\r\n")  # holds the second connection
            response = requests.get(f"{url}/health", timeout=15)
        assert response.status_code == 503 and response.headers["Retry-After"] == "5"
        assert response.json()["detail"] == "busy: over 2 connections open; retry in 5 s"
        assert requests.get(f"{url}/health", timeout=15).status_code == 200


def test_an_unreadable_upload_is_named_and_its_problem_said(server):
    truncated = png("abc")[:-40]
    response = requests.post(f"{server}/v1/read", files={"file": ("card.png", truncated)})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.startswith("card.png: unreadable PNG image (") and "(error)" not in detail and "PIL" not in detail
