"""``pwocr recognize --fuse``: several photos, or a video, of one password line read as one."""

import json

import cv2
import numpy as np
from conftest import TINY_LABELS, draw_line

from pwocr.cli.main import main


def run(capsys, *args, checkpoint):
    code = main([str(a) for a in args] + ["--checkpoint_path", str(checkpoint)])
    out, err = capsys.readouterr()
    return code, out, err


def test_photos_of_one_line_give_one_reading(capsys, tmp_path, tiny_checkpoint):
    paths = []
    for i in range(3):
        paths.append(tmp_path / f"shot{i}.png")
        draw_line(TINY_LABELS[1]).save(paths[-1])
    code, out, err = run(capsys, "recognize", "--fuse", *paths, "--json", checkpoint=tiny_checkpoint)
    assert code == 0, err
    [reading] = [json.loads(line) for line in out.splitlines()]
    assert reading["text"] == TINY_LABELS[1]
    assert reading["image"].endswith("shot0.png (+2 frames)")


def test_a_video_of_the_line_is_read_from_its_frames(capsys, tmp_path, tiny_checkpoint):
    line = np.asarray(draw_line(TINY_LABELS[3]).convert("RGB"))
    h, w = line.shape[:2]
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 10, (w, h))
    for _ in range(8):
        writer.write(cv2.cvtColor(line, cv2.COLOR_RGB2BGR))
    writer.release()
    code, out, err = run(capsys, "recognize", "--fuse", path, "--frames", "4", "-q", checkpoint=tiny_checkpoint)
    assert code == 0, err
    assert out.strip() == TINY_LABELS[3]


def test_a_file_that_is_no_video_is_one_line(capsys, tmp_path, tiny_checkpoint):
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"not a video")
    code, _, err = run(capsys, "recognize", "--fuse", path, checkpoint=tiny_checkpoint)
    assert code == 2
    assert err.strip().splitlines() == [f"pwocr: error: {path}: not a video pwocr can read"]


def test_a_frame_that_cannot_be_read_is_skipped_and_the_rest_fused(capsys, tmp_path, tiny_checkpoint):
    good = tmp_path / "shot.png"
    draw_line(TINY_LABELS[1]).save(good)
    (tmp_path / "empty.png").write_bytes(b"")
    missing = tmp_path / "gone.mp4"
    code, out, err = run(
        capsys, "recognize", "--fuse", good, tmp_path / "empty.png", missing, "-q", checkpoint=tiny_checkpoint
    )
    assert code == 0 and out.strip() == TINY_LABELS[1]
    assert f"{tmp_path / 'empty.png'}: the file is empty (0 bytes); skipped" in err
    assert f"{missing}: file not found; skipped" in err
