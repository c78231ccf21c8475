"""``pwocr synth`` never replaces an earlier set unless told to, and writes each image atomically."""

import os

import numpy as np
import pytest

from pwocr.cli.main import main
from pwocr.data.images import load
from pwocr.errors import PwocrError
from pwocr.synth.dataset_writer import write_image, write_scene_set, write_synthetic_set


def run(capsys, *args):
    code = main([str(a) for a in args])
    return code, *capsys.readouterr()


@pytest.mark.parametrize("mine", ["labels.csv", "000001.png"])
def test_synth_refuses_a_folder_with_its_files_unless_overwrite(capsys, tmp_path, mine):
    (tmp_path / mine).write_text("the user's work")
    code, _, err = run(capsys, "synth", "--count", 2, "--out", tmp_path, "--fonts_split", "eval")
    assert code == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{tmp_path}: already holds {mine}" in err and "new folder" in err and "--overwrite" in err
    assert sorted(os.listdir(tmp_path)) == [mine] and (tmp_path / mine).read_text() == "the user's work"
    code, _, err = run(capsys, "synth", "--count", 2, "--out", tmp_path, "--fonts_split", "eval", "--overwrite")
    assert code == 0, err
    assert sorted(os.listdir(tmp_path)) == ["000000.png", "000001.png", "labels.csv"]


def test_synth_writes_beside_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    (tmp_path / "000002.png").write_text("not a name a two-line set writes")
    write_synthetic_set(tmp_path, 2, seed=0, fonts_split="eval")
    assert load(tmp_path / "000001.png").ndim == 2 and (tmp_path / "notes.txt").read_text() == "mine"
    assert not [name for name in os.listdir(tmp_path) if name.startswith(".")]  # no temporary left


def test_scene_set_refuses_an_earlier_set(tmp_path):
    (tmp_path / "scenes.json").write_text("{}")
    with pytest.raises(PwocrError, match=r"already holds scenes\.json"):
        write_scene_set(tmp_path, 1, seed=0)
    assert (tmp_path / "scenes.json").read_text() == "{}"


def test_a_failed_image_write_is_one_line_naming_the_file(tmp_path):
    (tmp_path / "000000.png").mkdir()  # a folder where the image goes: the write fails
    with pytest.raises(PwocrError, match=r"000000.png: cannot write") as failed:
        write_synthetic_set(tmp_path, 1, seed=0, fonts_split="eval", overwrite=True)
    assert "\n" not in str(failed.value)
    with pytest.raises(PwocrError, match=r"x.nope: cannot write the image"):
        write_image(tmp_path / "x.nope", np.zeros((4, 4), np.uint8))
    assert not (tmp_path / "x.nope").exists()
