"""``pwocr recognize`` inputs and outputs: stdin, folders, globs, --recursive, HEIC, formats, --out, --quiet."""

import csv
import errno
import io
import json
import os
import subprocess
import sys

import pytest
from conftest import TINY_LABELS, draw_line

from pwocr.cli.main import main
from pwocr.data.images import HEIF_SUPPORTED


@pytest.fixture
def nested(tmp_path):
    """img0.png and img1.png at the top, sub/img2.png below, a hidden .cache/img3.png, and a note.txt."""
    root = tmp_path / "photos"
    (root / "sub").mkdir(parents=True)
    (root / ".cache").mkdir()
    draw_line(TINY_LABELS[0]).save(root / "img0.png")
    draw_line(TINY_LABELS[1]).save(root / "img1.png")
    draw_line(TINY_LABELS[2]).save(root / "sub" / "img2.png")
    draw_line(TINY_LABELS[3]).save(root / ".cache" / "img3.png")
    (root / "note.txt").write_text("not an image")
    return root


def run(capsys, *args, checkpoint):
    code = main([str(a) for a in args] + ["--checkpoint_path", str(checkpoint)])
    out, err = capsys.readouterr()
    return code, out, err


def test_quiet_prints_the_passwords_alone(capsys, nested, tiny_checkpoint):
    code, out, err = run(
        capsys, "recognize", nested / "img0.png", nested / "img1.png", "-q", checkpoint=tiny_checkpoint
    )
    assert code == 0
    assert out == f"{TINY_LABELS[0]}\n{TINY_LABELS[1]}\n"
    assert err == ""  # no summary in quiet mode


def test_stdin(capsys, nested, tiny_checkpoint, monkeypatch):
    data = (nested / "img1.png").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data)))
    code, out, _ = run(capsys, "recognize", "-", "--format", "jsonl", checkpoint=tiny_checkpoint)
    assert code == 0
    obj = json.loads(out)
    assert obj["image"] == "<stdin>" and obj["text"] == TINY_LABELS[1]


def test_stdin_through_a_real_pipe(nested, tiny_checkpoint):
    done = subprocess.run(
        [sys.executable, "-m", "pwocr.cli.main", "recognize", "-", "-q", "--checkpoint_path", str(tiny_checkpoint)],
        input=(nested / "img0.png").read_bytes(),
        capture_output=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode() == TINY_LABELS[0] + "\n"


def test_a_folder_argument_reads_its_images_and_recursive_its_subfolders(capsys, nested, tiny_checkpoint):
    code, out, _ = run(capsys, "recognize", nested, "-q", checkpoint=tiny_checkpoint)
    assert code == 0 and out.split("\n")[:-1] == TINY_LABELS[:2]
    code, out, _ = run(capsys, "recognize", nested, "--recursive", "--format", "csv", checkpoint=tiny_checkpoint)
    rows = list(csv.DictReader(io.StringIO(out)))
    assert [(r["img"].replace(str(nested), "").lstrip("/"), r["password"]) for r in rows] == [
        ("img0.png", TINY_LABELS[0]),
        ("img1.png", TINY_LABELS[1]),
        ("sub/img2.png", TINY_LABELS[2]),  # hidden folders and non-images are not inputs
    ]
    assert not (nested / "prediction.csv").exists()  # only the seed's --imgs_folder writes it


def test_seed_folder_writes_prediction_csv_with_relative_names_when_recursive(capsys, nested, tiny_checkpoint):
    code, _, _ = run(capsys, "recognize", "--imgs_folder", nested, "-r", checkpoint=tiny_checkpoint)
    assert code == 0
    with open(nested / "prediction.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["img"] for r in rows] == ["img0.png", "img1.png", "sub/img2.png"]
    assert all(r["status"] == "ok" and 0 < float(r["confidence"]) <= 1 for r in rows)


def test_a_quoted_glob_is_expanded_and_a_pattern_without_match_is_reported(capsys, nested, tiny_checkpoint):
    code, out, err = run(
        capsys, "recognize", str(nested / "img*.png"), str(nested / "*.jpg"), "-q", checkpoint=tiny_checkpoint
    )
    assert code == 0 and out.split() == TINY_LABELS[:2]
    assert "*.jpg: no image matches" in err


@pytest.mark.parametrize("fmt", ["csv", "tsv", "json", "jsonl"])
def test_every_input_gets_a_row_in_every_format(capsys, nested, tiny_checkpoint, fmt):
    args = ["recognize", nested / "img0.png", nested / "missing.png", nested / "note.txt", "--format", fmt]
    code, out, err = run(capsys, *args, checkpoint=tiny_checkpoint)
    assert code == 1  # read, but some inputs were skipped
    if fmt in ("csv", "tsv"):
        rows = list(csv.DictReader(io.StringIO(out), delimiter="," if fmt == "csv" else "\t"))
        assert [r["status"] for r in rows][:2] == ["ok", "skipped: file not found"]
        assert rows[2]["status"].startswith("skipped: not an image pwocr reads (by content: PNG, JPEG")
        assert rows[0]["password"] == TINY_LABELS[0] and float(rows[0]["confidence"]) > 0.5
    else:
        objs = json.loads(out) if fmt == "json" else [json.loads(line) for line in out.splitlines()]
        assert objs[0]["text"] == TINY_LABELS[0] and "chars" in objs[0]
        assert objs[1] == {"image": str(nested / "missing.png"), "error": "file not found"}
        assert objs[2]["error"].startswith("not an image pwocr reads (by content: PNG, JPEG")
    assert "read 1 of 3 images, skipped 2" in err


def test_out_writes_the_file_atomically_and_nothing_to_stdout(capsys, nested, tiny_checkpoint, tmp_path):
    target = tmp_path / "results" / "readings.json"
    code, out, err = run(capsys, "recognize", nested, "--format", "json", "--out", target, checkpoint=tiny_checkpoint)
    assert code == 0 and out == ""
    assert [o["text"] for o in json.loads(target.read_text())] == TINY_LABELS[:2]
    assert os.listdir(target.parent) == ["readings.json"]  # no partial file left
    assert f"wrote {target}" in err


def test_an_unwritable_prediction_csv_still_prints_the_readings(capsys, nested, tiny_checkpoint):
    # Tests may run as root, whom chmod does not stop; a folder where the file would go stops anyone.
    (nested / ".prediction.csv.partial").mkdir()
    code, out, err = run(capsys, "recognize", "--imgs_folder", nested, checkpoint=tiny_checkpoint)
    assert code == 2
    assert f"pwocr: error: {nested / 'prediction.csv'}: cannot write (Is a directory)" in err
    assert [line.split(": ")[1].split("  ")[0] for line in out.splitlines()] == TINY_LABELS[:2]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only folders")
def test_a_read_only_folder(capsys, nested, tiny_checkpoint):
    nested.chmod(0o555)
    try:
        code, out, err = run(capsys, "recognize", "--imgs_folder", nested, "-q", checkpoint=tiny_checkpoint)
    finally:
        nested.chmod(0o755)
    assert code == 2 and out.split() == TINY_LABELS[:2] and "prediction.csv: cannot write" in err


@pytest.mark.skipif(not HEIF_SUPPORTED, reason="pillow-heif is not installed")
def test_heic_photos_are_read(capsys, nested, tiny_checkpoint):
    import pillow_heif

    pillow_heif.register_heif_opener()  # to write one; pwocr registers it itself to read
    draw_line(TINY_LABELS[4]).convert("RGB").save(nested / "iphone.HEIC", quality=95)
    code, out, _ = run(capsys, "recognize", nested, "-q", checkpoint=tiny_checkpoint)
    assert code == 0 and TINY_LABELS[4] in out.split()


def test_onnx_export_round_trip_through_the_cli(capsys, nested, tiny_checkpoint, tmp_path):
    assert main(["export", "--checkpoint_path", str(tiny_checkpoint), "--out", str(tmp_path / "m.onnx")]) == 0
    capsys.readouterr()
    code, out, _ = run(capsys, "recognize", nested / "img1.png", "-q", checkpoint=tmp_path / "m.onnx")
    assert code == 0 and out == TINY_LABELS[1] + "\n"


def test_show_raw(capsys, nested, tiny_checkpoint):
    _, out, _ = run(capsys, "recognize", nested / "img0.png", "--show_raw", checkpoint=tiny_checkpoint)
    assert "raw output: " in out and "-" in out.split("raw output: ")[1]


def test_a_file_name_that_is_not_utf8_gets_its_row_in_every_output(capfd, tmp_path, tiny_checkpoint):
    folder = tmp_path / "photos"
    folder.mkdir()
    odd = os.fsdecode(b"caf\xe9.png")  # latin-1 bytes: a lone surrogate in Python's str
    draw_line(TINY_LABELS[0]).save(folder / odd)
    draw_line(TINY_LABELS[1]).save(folder / "ok.png")
    code, out, err = run(capfd, "recognize", "--imgs_folder", folder, checkpoint=tiny_checkpoint)
    assert code == 0, err
    assert f"ok.png: {TINY_LABELS[1]}" in out and "caf" in out  # the text output did not stop at the odd name
    written = (folder / "prediction.csv").read_bytes()
    assert b"caf\xe9.png," in written and b"ok.png," in written  # the name's own bytes: it reopens the file
    code, out, _ = run(capfd, "recognize", folder, "--format", "jsonl", checkpoint=tiny_checkpoint)
    names = [json.loads(line)["image"] for line in out.splitlines()]
    assert code == 0 and os.fsencode(names[0]).endswith(b"caf\xe9.png")


class _FullDisk:
    """A text stream that takes ``room`` characters, then fails as a full disk does."""

    def __init__(self, stream, room):
        self.stream, self.room = stream, room

    def write(self, text):
        self.room -= len(text)
        if self.room < 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return self.stream.write(text)

    def __getattr__(self, name):
        return getattr(self.stream, name)


@pytest.mark.parametrize("out", [False, True])
def test_a_full_disk_leaves_the_previous_output_and_every_reading_reaches_the_terminal(
    capsys, nested, tiny_checkpoint, monkeypatch, out
):
    from pwocr.cli import output

    opened = output.PartialFile.__init__

    def filling(self, target):
        opened(self, target)
        self.stream = _FullDisk(self.stream, room=200 if out else 60)  # the header and one row

    monkeypatch.setattr(output.PartialFile, "__init__", filling)
    target = nested / ("readings.csv" if out else "prediction.csv")
    target.write_text("the previous run's results\n")
    flags = ["--out", target, "--format", "csv"] if out else ["--imgs_folder", nested]
    inputs = [nested] if out else []
    code, stdout, err = run(capsys, "recognize", *inputs, *flags, "--recursive", checkpoint=tiny_checkpoint)
    assert code == 2 and "Traceback" not in err
    errors = [line for line in err.splitlines() if "error" in line]
    assert len(errors) == 1 and errors[0].startswith(
        f"pwocr: error: {target}: cannot write (No space left on device); it was left as it was; "
    )
    assert target.read_text() == "the previous run's results\n"
    partial = nested / f".{target.name}.partial"
    if out:  # the file alone had the readings: what it took before the disk filled stays, the rest is printed
        assert f"the 1 readings before are in {partial}, the rest follow here" in errors[0]
        kept = partial.read_text()
        assert TINY_LABELS[0] in kept and TINY_LABELS[1] in stdout and "img2.png" in stdout
    else:  # the terminal had every reading: the partial file is deleted
        assert "printing the readings only" in errors[0] and not partial.exists()
        assert TINY_LABELS[0] in stdout and TINY_LABELS[1] in stdout and "img2.png" in stdout


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_cells_that_a_spreadsheet_would_run_as_formulas_are_escaped(capsys, tmp_path, tiny_checkpoint, fmt):
    from pwocr.cli.output import ResultWriter
    from pwocr.inference.recognizer import Reading

    for name in ("=HYPERLINK(1).png", "+a.png", "-a.png", "@a.png"):
        draw_line(TINY_LABELS[0]).save(tmp_path / name)
    code, _, _ = run(capsys, "recognize", "--imgs_folder", tmp_path, checkpoint=tiny_checkpoint)
    rows = list(csv.DictReader((tmp_path / "prediction.csv").open(encoding="utf-8")))
    assert code == 0
    assert sorted(r["img"] for r in rows) == ["'+a.png", "'-a.png", "'=HYPERLINK(1).png", "'@a.png"]
    buffer = io.StringIO()
    writer = ResultWriter(buffer, fmt)
    writer.write(Reading("=cmd|' /C calc'!A0.png", "-2+3", "", 0.5, (), ()))
    row = list(csv.reader(io.StringIO(buffer.getvalue()), delimiter="," if fmt == "csv" else "\t"))[1]
    assert row[:2] == ["'=cmd|' /C calc'!A0.png", "'-2+3"]


def test_symlinks_and_fifos_in_a_folder_get_a_row_with_the_reason(capsys, nested, tiny_checkpoint):
    (nested / "a_dangling.png").symlink_to(nested / "gone.png")
    (nested / "b_loop.png").symlink_to(nested / "b_loop.png")
    (nested / "c_link.png").symlink_to(nested / "img0.png")  # a good image behind a link is read
    os.mkfifo(nested / "d_pipe.png")
    code, _, err = run(capsys, "recognize", "--imgs_folder", nested, checkpoint=tiny_checkpoint)
    rows = {r["img"]: r for r in csv.DictReader((nested / "prediction.csv").open(encoding="utf-8"))}
    assert code == 1 and "Traceback" not in err
    assert (
        rows["a_dangling.png"]["status"] == f"skipped: a symlink to {str(nested / 'gone.png')!r}, which does not exist"
    )
    assert rows["b_loop.png"]["status"] == "skipped: a symlink loop (the link points back to itself)"
    assert rows["c_link.png"]["password"] == TINY_LABELS[0]
    assert rows["d_pipe.png"]["status"] == "skipped: is a FIFO (named pipe), not an image file"


def test_a_fifo_named_on_the_command_line_is_refused_not_waited_on(capsys, tmp_path, tiny_checkpoint):
    import threading

    os.mkfifo(tmp_path / "pipe.png")
    result = {}
    thread = threading.Thread(
        target=lambda: result.update(out=run(capsys, "recognize", tmp_path / "pipe.png", checkpoint=tiny_checkpoint)),
        daemon=True,
    )
    thread.start()
    thread.join(timeout=60)
    if thread.is_alive():  # free the reader so the test session can end, then fail
        with open(tmp_path / "pipe.png", "wb"):
            pass
        pytest.fail("recognize blocked on the FIFO")
    code, _, err = result["out"]
    assert code == 2 and f"{tmp_path / 'pipe.png'}: is a FIFO (named pipe), not an image file; skipped" in err


def test_an_output_named_as_one_of_the_images_read_never_replaces_it(capsys, nested, tiny_checkpoint):
    photo = nested / "img0.png"
    before = photo.read_bytes()
    code, _, err = run(capsys, "recognize", nested, "-o", photo, checkpoint=tiny_checkpoint)
    assert code == 2 and photo.read_bytes() == before
    assert f"{photo} is one of the images read: not replaced" in err
    assert TINY_LABELS[0] in (nested / ".img0.png.partial").read_text()  # the readings are kept


def test_an_empty_output_name_is_refused(capsys, nested, tiny_checkpoint):
    with pytest.raises(SystemExit) as refused:
        run(capsys, "recognize", nested / "img0.png", "-o", "", checkpoint=tiny_checkpoint)
    assert refused.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        "pwocr recognize: error: argument -o/--out: expected a file name, got an empty one"
        " (pwocr recognize --help lists the options)"
    ]


def _recognize_process(args, tiny_checkpoint, **popen):
    command = [sys.executable, "-m", "pwocr.cli.main", "recognize", *map(str, args)]
    return subprocess.Popen([*command, "--checkpoint_path", str(tiny_checkpoint)], stderr=subprocess.PIPE, **popen)


@pytest.mark.parametrize("out_file", [False, True])
def test_a_pipe_closed_by_its_reader_ends_quietly_and_the_file_gets_every_reading(nested, tiny_checkpoint, out_file):
    images = [nested / f"img{i % 2}.png" for i in range(40)]
    target = nested.parent / "all.csv"
    extra = ["-q", "-o", target, "--format", "csv"] if out_file else []
    reader = _recognize_process([*images, *extra], tiny_checkpoint, stdout=subprocess.PIPE)
    assert reader.stdout.readline()  # `| head -1`: one line, then the pipe is closed
    reader.stdout.close()
    err = reader.stderr.read().decode()
    code = reader.wait(timeout=120)
    assert "Traceback" not in err and "BrokenPipe" not in err
    if out_file:
        assert code == 0
        assert len(list(csv.reader(target.open()))) == 1 + len(images)
    else:
        assert code == 141  # as a command the shell's SIGPIPE ended: no error, no partial output


def test_a_closed_standard_output_is_one_line(nested, tiny_checkpoint):
    reader = _recognize_process([nested / "img0.png", "--format", "json"], tiny_checkpoint, stdout=subprocess.DEVNULL)
    reader.wait(timeout=120)
    closed = subprocess.run(
        f'"{sys.executable}" -m pwocr.cli.main recognize "{nested / "img0.png"}" --format json'
        f' --checkpoint_path "{tiny_checkpoint}" >&-',
        shell=True,
        capture_output=True,
        text=True,
    )
    assert closed.returncode == 2
    assert closed.stderr.strip().splitlines() == [
        "pwocr: error: standard output: cannot write (standard output is closed)"
    ]


def test_a_name_too_long_for_the_file_system_is_skipped_and_the_others_read(capsys, nested, tiny_checkpoint):
    too_long = nested / ("a" * 300 + ".png")
    code, out, err = run(capsys, "recognize", nested / "img0.png", too_long, "-q", checkpoint=tiny_checkpoint)
    assert code == 1 and out == TINY_LABELS[0] + "\n"
    assert "File name too long" in err and "Traceback" not in err


def test_standard_input_twice_is_refused_before_anything_is_read(capsys, nested, tiny_checkpoint):
    code, out, err = run(capsys, "recognize", nested / "img0.png", "-", "-", "-q", checkpoint=tiny_checkpoint)
    assert (code, out) == (2, "")
    assert err.strip() == "pwocr: error: '-' (standard input) can be given once"


def test_a_line_with_nothing_read_is_not_a_success(capsys, tmp_path):
    from PIL import Image

    Image.new("L", (1, 1), 255).save(tmp_path / "blank.png")  # the shipped model reads nothing in it
    code = main(["recognize", str(tmp_path / "blank.png"), "-q"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert f"{tmp_path / 'blank.png'}: no characters read" in err


def test_quiet_with_a_format_for_the_terminal_is_refused_not_silently_dropped(capsys, nested, tiny_checkpoint):
    code, out, err = run(capsys, "recognize", nested / "img0.png", "-q", "--format", "csv", checkpoint=tiny_checkpoint)
    assert (code, out) == (2, "")
    assert "--format and --show_raw apply only to an --out file" in err
