"""The page straightens a photo's lines with Python's arithmetic: ``reader/imaging.js`` and the
detector's post-processing against ``pwocr.imaging`` and ``pwocr.layout.detector``, on random inputs
in headless chromium, bit for bit: resize (area and bilinear, gray and colour), Otsu's threshold,
contour hulls of a dilated map and their minimum-area rectangles, polygon means, perspective
matrices and warps (bilinear and bicubic), the fused multiply-add OpenBLAS's products round with,
and crop_line.
"""

import numpy as np
from web_site import chromium, site, static_server

from pwocr import imaging
from pwocr.layout.detector import TextBox, crop_line

__all__ = ["chromium", "site"]  # fixtures

COMPUTE = """async (cases) => {
  const I = await import("./reader/imaging.js");
  const D = await import("./reader/detector.js");
  const image = (c) => ({ data: Uint8Array.from(c.img), width: c.w, height: c.h, channels: c.cn });
  return {
    fma: cases.fma.map(([a, b, c]) => I.fma(a, b, c)),
    resize: cases.resize.map((c) => Array.from(I.resize(Uint8Array.from(c.img), c.w, c.h, c.cn, c.dw, c.dh, c.interp))),
    otsu: cases.otsu.map((g) => I.otsuThreshold(Uint8Array.from(g))),
    regions: cases.regions.map((c) => {
      const hulls = I.contourHulls(I.dilate2x2(Uint8Array.from(c.m), c.w, c.h), c.w, c.h);
      return hulls.map((points) => {
        const rect = I.minAreaRect(points);
        return { points, centre: rect.centre, size: rect.size, corners: rect.corners() };
      });
    }),
    rects: cases.rects.map((points) => { const r = I.minAreaRect(points); return { centre: r.centre, size: r.size, corners: r.corners() }; }),
    means: cases.means.map((c) => I.polygonMean({ data: Float32Array.from(c.values), width: c.w, height: c.h }, c.corners)),
    warps: cases.warps.map((c) => {
      const matrix = I.perspectiveTransform(c.src, [[0, 0], [c.ow, 0], [c.ow, c.oh], [0, c.oh]]);
      return { matrix, pixels: Array.from(I.warpPerspective(image(c), matrix, c.ow, c.oh, c.interp).data) };
    }),
    crops: cases.crops.map((c) => { const crop = D.cropLine(image(c), { points: c.box, score: 1 }, 96, 48); return [crop.height, crop.width, Array.from(crop.data)]; }),
  };
}"""


def _cases(rng: np.random.Generator) -> tuple[dict, dict]:
    """Random inputs for the page, and Python's answers."""
    cases: dict = {key: [] for key in ("fma", "resize", "otsu", "regions", "rects", "means", "warps", "crops")}
    expected: dict = {key: [] for key in cases}
    from fractions import Fraction

    for a, b, c in zip(rng.standard_normal(500) * 1000, rng.standard_normal(500), rng.standard_normal(500) * 100):
        cases["fma"].append([float(a), float(b), float(c)])
        expected["fma"].append(float(Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))))
    for k in range(30):
        h, w, cn = int(rng.integers(1, 50)), int(rng.integers(1, 70)), int(rng.choice([1, 3]))
        img = rng.integers(0, 256, (h, w, cn) if cn == 3 else (h, w), dtype=np.uint8)
        dw, dh = (
            (max(1, w // 2), max(1, h // 2)) if k % 5 == 0 else (int(rng.integers(1, 100)), int(rng.integers(1, 70)))
        )
        interp = str(rng.choice(["area", "linear"]))
        cases["resize"].append(
            {"img": img.ravel().tolist(), "w": w, "h": h, "cn": cn, "dw": dw, "dh": dh, "interp": interp}
        )
        expected["resize"].append(imaging.resize(img, dw, dh, interp).ravel().tolist())
    for _ in range(10):
        gray = (rng.random(400) * rng.integers(1, 256)).astype(np.uint8)
        cases["otsu"].append(gray.tolist())
        expected["otsu"].append(imaging.otsu_threshold(gray))
    for _ in range(15):
        h, w = int(rng.integers(5, 50)), int(rng.integers(5, 70))
        mask = rng.random((h, w)) < rng.uniform(0.2, 0.7)
        cases["regions"].append({"m": mask.astype(int).ravel().tolist(), "w": w, "h": h})
        regions = []
        for points in imaging.contour_hulls(imaging.dilate_2x2(mask)):
            rect = imaging.min_area_rect(points)
            regions.append(
                {
                    "points": sorted(set(map(tuple, points.tolist()))),
                    "centre": list(rect.centre),
                    "size": list(rect.size),
                }
                | {"corners": rect.corners().tolist()}
            )
        expected["regions"].append(regions)
    for _ in range(100):
        points = (rng.random((8, 2)) * 500).astype(np.float32)
        rect = imaging.min_area_rect(points)
        cases["rects"].append(points.tolist())
        expected["rects"].append(
            {"centre": list(rect.centre), "size": list(rect.size), "corners": rect.corners().tolist()}
        )
    for _ in range(50):
        h, w = int(rng.integers(10, 60)), int(rng.integers(10, 60))
        values = rng.random((h, w)).astype(np.float32)
        corners = imaging.min_area_rect(
            (rng.random((4, 2)) * [w * 1.2, h * 1.2] - [w * 0.1, h * 0.1]).astype(np.float32)
        ).corners()
        cases["means"].append({"values": values.ravel().tolist(), "w": w, "h": h, "corners": corners.tolist()})
        expected["means"].append(imaging.polygon_mean(values, corners))
    for k in range(16):
        h, w, cn = int(rng.integers(20, 80)), int(rng.integers(20, 100)), int(rng.choice([1, 3]))
        img = rng.integers(0, 256, (h, w, cn) if cn == 3 else (h, w), dtype=np.uint8)
        jitter = (rng.random((4, 2)) * 6 - 3).astype(np.float32)
        src = np.float32([[2, 3], [w - 5, 1], [w - 2, h - 4], [1, h - 2]]) + jitter
        ow, oh = int(rng.integers(8, 120)), int(rng.integers(8, 60))
        matrix = imaging.perspective_transform(src, np.float32([[0, 0], [ow, 0], [ow, oh], [0, oh]]))
        interp = "cubic" if k % 2 else "linear"
        cases["warps"].append(
            {"img": img.ravel().tolist(), "w": w, "h": h, "cn": cn, "src": src.tolist(), "ow": ow, "oh": oh}
            | {"interp": interp}
        )
        pixels = imaging.warp_perspective(img, matrix, ow, oh, interp).ravel().tolist()
        expected["warps"].append({"matrix": matrix.tolist(), "pixels": pixels})
    for k in range(12):
        h, w, cn = 120, 200, int(rng.choice([1, 3]))
        img = rng.integers(0, 256, (h, w, cn) if cn == 3 else (h, w), dtype=np.uint8)
        if k % 4:  # a line, shorter or taller than the 48 rows it is read at
            x0, y0, bw, bh = rng.uniform(0, 40), rng.uniform(0, 40), rng.uniform(20, 150), rng.uniform(6, 70)
        else:  # a vertical line over 96 rows: averaged down, then turned
            x0, y0, bw, bh = rng.uniform(0, 40), rng.uniform(0, 5), rng.uniform(20, 60), rng.uniform(100, 114)
        box = np.float32([[x0, y0], [x0 + bw, y0 + 3], [x0 + bw - 2, y0 + bh], [x0 - 1, y0 + bh - 2]])
        box = np.clip(box, 0, [w - 1, h - 1]).astype(np.float32)
        crop = crop_line(img, TextBox(box, 1.0), min_height=48)
        cases["crops"].append({"img": img.ravel().tolist(), "w": w, "h": h, "cn": cn, "box": box.tolist()})
        expected["crops"].append([crop.shape[0], crop.shape[1], crop.ravel().tolist()])
    return cases, expected


def test_imaging_js_computes_what_pwocr_imaging_computes(site, chromium, tmp_path):
    cases, expected = _cases(np.random.default_rng(20261204))
    with static_server(site, tmp_path / "http.log") as url:
        page = chromium.new_page()
        page.goto(f"{url}/")
        got = page.evaluate(COMPUTE, cases)
        page.close()
    assert got["fma"] == expected["fma"]
    assert got["resize"] == expected["resize"]
    assert got["otsu"] == expected["otsu"]
    for js, python in zip(got["regions"], expected["regions"], strict=True):
        assert len(js) == len(python)
        for a, b in zip(js, python):
            assert sorted(set(map(tuple, a.pop("points")))) == b.pop("points")
            assert a == b
    assert got["rects"] == expected["rects"]
    assert got["means"] == expected["means"]
    assert got["warps"] == expected["warps"]
    assert got["crops"] == expected["crops"]
