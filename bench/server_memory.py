"""How much memory ``pwocr serve`` keeps after large images: resident memory idle, then 20 s after four 36 MP uploads.

Starts ``pwocr serve`` (the shipped model, default limits) as a child process on 127.0.0.1 and reads
its resident set size (VmRSS, /proc) at four moments:

1. idle: after start-up and one small photo read (so the model and the text detector are loaded);
2. at the peak while four 36 MP 1-bit PNGs (6000 x 6000, about 11 KB each: a few black bars on
   white) are read one after another as whole photos (the default layout);
3. 20 s after the last of them answered;
4. 20 s after four more, to see whether memory keeps growing.

The issue's target: (3) within 100 MB of (1). Only 127.0.0.1 is contacted.

    python bench/server_memory.py --out bench/results/server_memory.json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from PIL import Image, ImageDraw

from pwocr.io import atomic_write


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def bilevel_png(side: int = 6000) -> bytes:
    """A ``side`` x ``side`` 1-bit PNG with a few black bars: tens of KB that decode to ``side``² pixels."""
    image = Image.new("1", (side, side), 1)
    draw = ImageDraw.Draw(image)
    for k in range(6):
        top = side // 8 * (k + 1)
        draw.rectangle((side // 10, top, side // 10 + side // 3, top + side // 60), fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()


def small_photo() -> bytes:
    image = Image.new("L", (640, 480), 255)
    ImageDraw.Draw(image).text((40, 200), "Password: Xk7#pQ2v", fill=0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def post(url: str, body: bytes) -> int:
    request = urllib.request.Request(url, body, {"Content-Type": "application/octet-stream"})
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def wait_until_up(url: str, deadline: float) -> None:
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError("the server did not start")


def peak_while(pid: int, work) -> tuple[float, object]:
    """Run ``work()`` while sampling the server's RSS every 50 ms; the highest sample and what work returned."""
    peak, done = [0.0], threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_mb(pid))
            time.sleep(0.05)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = work()
    finally:
        done.set()
        sampler.join()
    return peak[0], result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None, help="write the figures as JSON here")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait after the uploads")
    args = parser.parse_args()

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with tempfile.TemporaryFile() as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "pwocr.cli.main", "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
        try:
            wait_until_up(f"{base}/health", time.time() + 120)
            assert post(f"{base}/v1/read", small_photo()) == 200
            time.sleep(2)
            idle = rss_mb(server.pid)
            big = bilevel_png()
            statuses = []

            def four() -> list[int]:
                return [post(f"{base}/v1/read", big) for _ in range(4)]

            peak, got = peak_while(server.pid, four)
            statuses += got
            time.sleep(args.settle)
            after = rss_mb(server.pid)
            peak2, got = peak_while(server.pid, four)
            statuses += got
            time.sleep(args.settle)
            after_eight = rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait(30)
    figures = {
        "image": {"pixels": 6000 * 6000, "mode": "1", "bytes": len(big)},
        "statuses": statuses,
        "rss_mb": {
            "idle_after_one_small_read": round(idle, 1),
            "peak_during_four": round(peak, 1),
            f"{args.settle:g}_s_after_four": round(after, 1),
            "peak_during_four_more": round(peak2, 1),
            f"{args.settle:g}_s_after_eight": round(after_eight, 1),
        },
        "kept_after_four_mb": round(after - idle, 1),
        "target": "kept_after_four_mb within 100",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
    }
    print(json.dumps(figures, indent=2))
    if args.out:
        atomic_write(args.out, json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
