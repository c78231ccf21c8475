"""``pwocr split`` never replaces the label file it splits, and bad input is one line, not a traceback."""

import os

import pytest

from pwocr.cli.main import main
from pwocr.data.labels import read_labels, split_labels
from pwocr.errors import PwocrError

ROWS = "filename,label\n" + "".join(f"a{i}.png,secret{i}\n" for i in range(10))


def run(capsys, *args):
    code = main([str(a) for a in args])
    return code, *capsys.readouterr()


@pytest.mark.parametrize("name", ["test.csv", "train.csv", "val.csv"])
def test_split_refuses_to_replace_its_input(capsys, tmp_path, name):
    (tmp_path / name).write_text(ROWS)
    code, _, err = run(capsys, "split", tmp_path / name, "--out", tmp_path)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{tmp_path / name}: --out" in err and "another folder" in err
    assert (tmp_path / name).read_text() == ROWS
    assert sorted(os.listdir(tmp_path)) == [name]  # nothing written either


def test_split_compares_files_not_names(tmp_path):
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "labels.csv").write_text(ROWS)
    os.link(tmp_path / "data" / "labels.csv", tmp_path / "val.csv")
    with pytest.raises(PwocrError, match="would replace it"):
        split_labels(tmp_path / "data" / "labels.csv", tmp_path)  # val.csv is another name of the input
    (tmp_path / "link").symlink_to(tmp_path / "data")
    (tmp_path / "data" / "train.csv").write_text(ROWS)
    with pytest.raises(PwocrError, match="would replace it"):
        split_labels(tmp_path / "data" / "train.csv", tmp_path / "link")  # the same folder by another path
    (tmp_path / "other").mkdir()
    split_labels(tmp_path / "data" / "labels.csv", tmp_path / "other")  # an ordinary split still works


def test_split_replaces_an_earlier_split_but_not_the_input(tmp_path):
    (tmp_path / "labels.csv").write_text(ROWS)
    split_labels(tmp_path / "labels.csv", tmp_path, test_fraction=0.2)
    assert split_labels(tmp_path / "labels.csv", tmp_path, seed=1) == {"train": 8, "val": 2}
    assert sorted(os.listdir(tmp_path)) == ["labels.csv", "train.csv", "val.csv"]
    assert (tmp_path / "labels.csv").read_text() == ROWS


@pytest.mark.parametrize("out", ["afile", "afile/x"])
def test_split_into_a_file_is_one_line(capsys, tmp_path, out):
    (tmp_path / "labels.csv").write_text(ROWS)
    (tmp_path / "afile").write_text("mine")
    code, _, err = run(capsys, "split", tmp_path / "labels.csv", "--out", tmp_path / out)
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{tmp_path / 'afile'} is a file, not a folder" in err
    assert (tmp_path / "afile").read_text() == "mine"


def test_split_keeps_names_as_written_absolute_ones_too(tmp_path):
    absolute = str(tmp_path / "elsewhere" / "x.png")
    (tmp_path / "labels.csv").write_text(f"filename,label\n{absolute},pw0\nsub/b.png,pw1\n../c.png,pw2\nd.png,pw3\n")
    split_labels(tmp_path / "labels.csv", tmp_path / "out", 0.25)
    written = {line.split(",")[0] for n in ("train", "val") for line in (tmp_path / "out" / f"{n}.csv").open()}
    assert written == {"filename", absolute, "sub/b.png", "../c.png", "d.png"}
    assert {str(i.path) for i in read_labels(tmp_path / "out" / "train.csv", tmp_path)} <= {
        absolute,
        str(tmp_path / "sub/b.png"),
        str(tmp_path / "../c.png"),
        str(tmp_path / "d.png"),
    }


def test_missing_header_names_no_header_only_where_the_flag_exists(capsys, tmp_path):
    (tmp_path / "l.csv").write_text("a.png,secret0\nb.png,secret1\nc.png,secret2\n")
    with pytest.raises(PwocrError) as refused:  # as train and calibrate read a file: they have no --no_header
        read_labels(tmp_path / "l.csv")
    assert "expected a header row" in str(refused.value) and "--no_header" not in str(refused.value)
    assert "secret" not in str(refused.value)
    code, _, err = run(capsys, "split", tmp_path / "l.csv", "--out", tmp_path / "s")
    assert code == 2 and "--no_header" in err and "secret" not in err
    code, _, err = run(capsys, "split", tmp_path / "l.csv", "--out", tmp_path / "s", "--no_header", "--val", "0.3")
    assert code == 0, err
    assert len(read_labels(tmp_path / "s" / "train.csv")) == 2
