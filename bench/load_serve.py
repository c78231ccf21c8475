"""Load and attack ``pwocr serve`` over loopback: throughput, latency, errors, and the server's peak memory.

Starts ``pwocr serve`` (the shipped model, default limits unless flags say otherwise) as a child
process on 127.0.0.1, then:

1. load at concurrency 1, 8 and 64: each client posts a photo as a multipart form on its own
   keep-alive connection; throughput of readings, p50 and p99 latency, and every status counted
   (5xx other than 503 are errors; 503 is expected only when clients outnumber the queue bound,
   and a client refused tries again at once, ignoring Retry-After: the worst case for the server);
2. a 300 MB body, declared (Content-Length) and chunked (no length), 4 clients at once;
3. a decompression bomb (a 169 MP PNG of 0.2 MB), 4 clients at once, and the largest image the
   server accepts (just under its pixel limit), 8 clients at once;
4. 1,000 connections that send half a request head and stall, with a real request beside them.

The server's peak resident memory is read from /proc (VmHWM, reset before each phase through
clear_refs), so each phase has its own peak. Every loop is bounded; only 127.0.0.1 is contacted.

    python bench/load_serve.py --out bench/results/load_serve.json
"""

from __future__ import annotations

import argparse
import http.client
import io
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

from PIL import Image

from pwocr.io import atomic_write

BOUNDARY = "pwocr-bench-boundary"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def multipart(image: bytes, name: str = "photo.png") -> bytes:
    head = (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return head + image + f"\r\n--{BOUNDARY}--\r\n".encode()


class Server:
    """``pwocr serve`` as a child process, with its memory read from /proc."""

    def __init__(self, extra: list[str]) -> None:
        self.port = free_port()
        command = [sys.executable, "-m", "pwocr.cli.main", "serve", "--port", str(self.port), *extra]
        # The server's log goes to a file: a pipe nobody reads would fill and stall the server.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=self.log)
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health", timeout=2) as r:
                    self.health = json.loads(r.read())
                break
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise SystemExit(
                        f"the server did not start: {self.process.stderr.read().decode()[-2000:]}"
                    ) from None
                time.sleep(0.2)

    def status(self, key: str) -> int:
        """A /proc/PID/status figure in bytes (VmRSS, VmHWM)."""
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
        return 0

    def reset_peak(self) -> None:
        """Make VmHWM start again from the current RSS (Linux: clear_refs 5)."""
        Path(f"/proc/{self.process.pid}/clear_refs").write_text("5")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=20)


def mb(n: int) -> float:
    return round(n / 1e6, 1)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def load(server: Server, body: bytes, concurrency: int, requests_per_client: int) -> dict:
    """``concurrency`` clients, each posting ``requests_per_client`` times on one keep-alive connection."""
    latencies: list[float] = []
    statuses: Counter[str] = Counter()
    lock = threading.Lock()
    headers = {"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}

    def client() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
        for _ in range(requests_per_client):
            started = time.perf_counter()
            try:
                connection.request("POST", "/v1/read?candidates=3", body=body, headers=headers)
                response = connection.getresponse()
                response.read()
                status = str(response.status)
                if response.will_close:
                    connection.close()
                    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            except OSError as e:
                status = f"connection error ({type(e).__name__})"
                connection.close()
                connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
            elapsed = time.perf_counter() - started
            with lock:
                statuses[status] += 1
                if status == "200":
                    latencies.append(elapsed)
        connection.close()

    server.reset_peak()
    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    errors = sum(n for s, n in statuses.items() if s != "200" and not s.startswith("4") and s != "503")
    return {
        "concurrency": concurrency,
        "requests": concurrency * requests_per_client,
        "wall_s": round(wall, 2),
        "readings_per_s": round(statuses["200"] / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "statuses": dict(sorted(statuses.items())),
        "errors": errors,
        "server_peak_rss_mb": mb(server.status("VmHWM")),
    }


def send_big_body(port: int, total: int, chunked: bool) -> str:
    """Post ``total`` bytes of zeros (declared, or chunked with no length); the answer's status, or how it ended."""
    chunk = b"\0" * (1 << 20)
    with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
        head = "POST /v1/read HTTP/1.1\r\nHost: bench\r\nContent-Type: application/octet-stream\r\n"
        head += "Transfer-Encoding: chunked\r\n\r\n" if chunked else f"Content-Length: {total}\r\n\r\n"
        s.sendall(head.encode())
        sent = 0
        try:
            while sent < total:
                piece = chunk[: min(len(chunk), total - sent)]
                s.sendall(b"%x\r\n%s\r\n" % (len(piece), piece) if chunked else piece)
                sent += len(piece)
            if chunked:
                s.sendall(b"0\r\n\r\n")
        except OSError:
            pass  # the server answered and closed while we were still sending: the point of the test
        try:
            answer = s.recv(64)
        except OSError as e:
            return f"closed ({type(e).__name__}) after {mb(sent)} MB sent"
        status = answer.split(b" ")[1].decode() if answer.startswith(b"HTTP/") else "closed"
        return f"{status} after {mb(sent)} MB sent"


def attack(server: Server, name: str, clients: int, send) -> dict:
    """Run ``send()`` from ``clients`` threads at once; the server's peak RSS over the attack."""
    server.reset_peak()
    before = server.status("VmRSS")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(send())) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {
        "attack": name,
        "clients": clients,
        "wall_s": round(time.perf_counter() - started, 2),
        "answers": dict(Counter(results)),
        "server_rss_before_mb": mb(before),
        "server_peak_rss_mb": mb(server.status("VmHWM")),
        "server_rss_after_mb": mb(server.status("VmRSS")),
    }


def post_image(port: int, image: bytes) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    try:
        connection.request("POST", "/v1/read", body=image, headers={"Content-Type": "application/octet-stream"})
        response = connection.getresponse()
        detail = json.loads(response.read() or b"{}").get("detail", "")
        return f"{response.status} {detail[:60]}".strip()
    finally:
        connection.close()


def png_of(mode: str, size: tuple[int, int]) -> bytes:
    buffer = io.BytesIO()
    Image.new(mode, size).save(buffer, "PNG", optimize=False, compress_level=9)
    return buffer.getvalue()


def slow_heads(server: Server, connections: int, body: bytes) -> dict:
    """Open ``connections`` sockets that each send half a request head, then see when the server drops them."""
    server.reset_peak()
    before = server.status("VmRSS")
    sockets = []
    for _ in range(connections):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=5)
        s.sendall(b"POST /v1/read HTTP/1.1\r\nHost: bench\r\n")
        sockets.append(s)
    opened = time.perf_counter()
    beside = post_during(server.port, body)
    held = server.status("VmRSS")
    for s in sockets:
        s.settimeout(max(1.0, 60 - (time.perf_counter() - opened)))
    closed = []
    for s in sockets:
        try:
            if s.recv(1) == b"":
                closed.append(time.perf_counter() - opened)
        except OSError:
            pass
        s.close()
    after = post_during(server.port, body)
    return {
        "attack": "slow request heads",
        "connections": connections,
        "closed_by_server": len(closed),
        "all_closed_within_s": round(max(closed), 1) if closed else None,
        "real_request_during": beside,
        "real_request_after": after,
        "server_rss_before_mb": mb(before),
        "server_rss_holding_them_mb": mb(held),
        "server_peak_rss_mb": mb(server.status("VmHWM")),
    }


def post_during(port: int, body: bytes) -> str:
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        connection.request(
            "POST", "/v1/read", body=body, headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"}
        )
        return str(connection.getresponse().status)
    except OSError as e:
        return f"connection error ({type(e).__name__})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--image", default="../shared/domain/nb36_06.png", help="the photo the load posts")
    parser.add_argument("--requests", type=int, default=320, help="requests per load level (split among clients)")
    parser.add_argument("--serve_args", default="", help="extra flags for pwocr serve, e.g. '--running 2 --queue 8'")
    parser.add_argument("--slow_connections", type=int, default=1000)
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()

    body = multipart(Path(args.image).read_bytes(), Path(args.image).name)
    # 1,000 stalled connections need 1,000 descriptors here and as many in the server (which inherits
    # the limit): raise the soft limit to the hard one, and hold fewer connections if that is not enough.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = args.slow_connections + 256
    if soft != resource.RLIM_INFINITY and soft < wanted:
        soft = hard if hard == resource.RLIM_INFINITY else min(hard, max(wanted, soft))
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft != resource.RLIM_INFINITY and soft < wanted:
        args.slow_connections = max(1, soft - 256)
        print(f"only {soft} file descriptors: holding {args.slow_connections} stalled connections", file=sys.stderr)
    server = Server(args.serve_args.split())
    try:
        limits = server.health["limits"]
        capacity = server.health["queue"]["capacity"]
        idle = server.status("VmRSS")
        post_during(server.port, body)  # warm-up: first reading
        results: dict = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at start",
            "model": server.health["model"],
            "image": Path(args.image).name,
            "limits": limits,
            "queue_capacity": capacity,
            "server_idle_rss_mb": mb(idle),
            "load": [],
            "attacks": [],
        }
        for concurrency in (1, 8, 64):
            row = load(server, body, concurrency, max(1, args.requests // concurrency))
            results["load"].append(row)
            print(json.dumps(row), flush=True)
        max_side = int(limits["max_pixels"] ** 0.5) - 1
        attacks = [
            ("300 MB body, declared", 4, lambda: send_big_body(server.port, 300_000_000, chunked=False)),
            ("300 MB body, chunked", 4, lambda: send_big_body(server.port, 300_000_000, chunked=True)),
        ]
        bomb = png_of("L", (13_000, 13_000))
        largest = png_of("RGB", (max_side, max_side))
        attacks.append((f"bomb: 169 MP PNG of {mb(len(bomb))} MB", 4, lambda: post_image(server.port, bomb)))
        attacks.append(
            (
                f"largest accepted: {max_side}x{max_side} RGB PNG of {mb(len(largest))} MB",
                8,
                lambda: post_image(server.port, largest),
            )
        )
        for name, clients, send in attacks:
            row = attack(server, name, clients, send)
            results["attacks"].append(row)
            print(json.dumps(row), flush=True)
        row = slow_heads(server, args.slow_connections, body)
        results["attacks"].append(row)
        print(json.dumps(row), flush=True)
        phases = results["load"] + results["attacks"]
        results["server_peak_rss_mb_over_all_phases"] = max(row["server_peak_rss_mb"] for row in phases)
    finally:
        server.stop()
    if args.out:
        atomic_write(args.out, json.dumps(results, indent=1) + "\n")
    print(json.dumps({k: v for k, v in results.items() if k not in ("load", "attacks")}))


if __name__ == "__main__":
    main()
