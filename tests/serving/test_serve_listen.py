"""``pwocr serve`` binds its port before it loads anything: a port in use or a bad ``--host`` is one line, exit 2."""

import errno
import os
import socket
import subprocess
import sys
import time

import pytest

from pwocr.errors import PwocrError
from pwocr.serving import server
from pwocr.serving.server import listen


@pytest.fixture
def occupied_port():
    """A loopback port another program listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield s.getsockname()[1]


def test_a_port_in_use_is_one_line_exit_2_before_the_model_loads(occupied_port, tmp_path):
    """The checkpoint does not exist: had the command loaded the model first, it would complain of that instead."""
    command = [sys.executable, "-m", "pwocr.cli.main", "serve", "--port", str(occupied_port)]
    command += ["--checkpoint_path", str(tmp_path / "missing.safetensors")]
    started = time.monotonic()
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env={**os.environ, "NO_COLOR": "1"})
    assert done.returncode == 2
    assert done.stderr.splitlines() == [
        f"pwocr: error: cannot listen on 127.0.0.1:{occupied_port}: the port is in use (choose another with --port)"
    ]
    assert time.monotonic() - started < 30


def test_the_port_stays_bound_once(occupied_port):
    with pytest.raises(PwocrError, match="in use"):
        listen("127.0.0.1", occupied_port)
    sockets = listen("127.0.0.1", 0)
    try:
        port = sockets[0].getsockname()[1]
        with pytest.raises(PwocrError, match=f"127.0.0.1:{port}: the port is in use"):
            listen("127.0.0.1", port)
    finally:
        for sock in sockets:
            sock.close()


def test_an_address_not_of_this_machine_names_the_host():
    with pytest.raises(
        PwocrError, match=r"192\.0\.2\.1:8000: the address is not one of this machine's \(check --host\)"
    ):
        listen("192.0.2.1", 8000)  # TEST-NET-1: never a local address


@pytest.mark.parametrize(
    ("host", "words"),
    [("no-such-host.invalid", "no such host"), ("a" * 70, "not a valid host name")],
)
def test_a_host_that_names_nothing_is_one_line(monkeypatch, host, words):
    def unknown(name, *args, **kwargs):
        name.encode("idna")  # as socket.getaddrinfo does, without asking a resolver
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(server.socket, "getaddrinfo", unknown)
    with pytest.raises(PwocrError) as e:
        listen(host, 8000)
    assert str(e.value) == f"cannot listen on {host}:8000: {words} (check --host)"


def _refused(*args: object) -> socket.socket:
    raise PermissionError(errno.EACCES, "Permission denied")


def test_a_privileged_port_without_rights_says_so(monkeypatch):
    if not hasattr(os, "geteuid") or os.geteuid() == 0:  # root may bind any port: refuse as the kernel would
        monkeypatch.setattr(server, "_bound", _refused)
    with pytest.raises(PwocrError) as e:
        listen("127.0.0.1", 80)
    assert str(e.value) == (
        "cannot listen on 127.0.0.1:80: permission denied (ports below 1024 need administrator rights);"
        " choose another with --port"
    )


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback here")
@pytest.mark.parametrize("host", ["::1", "[::1]"])
def test_ipv6_hosts_listen(host):
    sockets = listen(host, 0)
    try:
        assert [s.family for s in sockets] == [socket.AF_INET6]
        with socket.create_connection(("::1", sockets[0].getsockname()[1]), timeout=5):
            pass
    finally:
        for sock in sockets:
            sock.close()
    occupied = listen("::1", 0)
    try:
        port = occupied[0].getsockname()[1]
        with pytest.raises(PwocrError, match=rf"\[::1\]:{port}: the port is in use"):
            listen("::1", port)
    finally:
        for sock in occupied:
            sock.close()


async def _hello(scope, receive, send):
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"hello"})


@pytest.mark.parametrize(
    "host", ["127.0.0.1", pytest.param("::1", marks=pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6"))]
)
def test_uvicorn_serves_on_the_sockets_it_is_handed(host):
    import threading
    import urllib.request

    from pwocr.serving.server import ListeningServer, uvicorn_config
    from pwocr.serving.settings import ServeSettings

    sockets = listen(host, 0)
    port = sockets[0].getsockname()[1]
    served = ListeningServer(uvicorn_config(_hello, ServeSettings(), host, port, log_level="warning"))
    thread = threading.Thread(target=served.run, kwargs={"sockets": sockets}, daemon=True)
    thread.start()
    try:
        url = f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"
        with urllib.request.urlopen(url, timeout=10) as response:
            assert response.read() == b"hello"
    finally:
        served.should_exit = True
        thread.join(timeout=10)
    assert not thread.is_alive()
    with socket.socket(sockets[0].family) as again:  # closed on shutdown: the port is free again
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind((host, port))
