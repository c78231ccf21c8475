"""A model file's config, hand-edited or corrupted: every bad value is one line naming the file, exit 2."""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import onnx
import pytest
import torch
from conftest import draw_line
from onnx import TensorProto, helper
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from pwocr.checkpoints import CONFIG_KEY, config_from_json, load_state, read_config
from pwocr.cli.main import main
from pwocr.errors import PwocrError
from pwocr.inference.engine import OnnxEngine
from pwocr.model.config import ModelConfig

TINY = Path(__file__).parent / "fixtures" / "tiny.safetensors"


def tiny_config() -> dict[str, Any]:
    with safe_open(str(TINY), framework="numpy") as f:
        return json.loads(f.metadata()[CONFIG_KEY])


def edited(path: Path, **changes: Any) -> Path:
    """The tiny model's weights under ``path``, its config's keys changed (``None``: removed)."""
    config = {k: v for k, v in {**tiny_config(), **changes}.items() if v is not None}
    save_file(load_file(str(TINY)), str(path), metadata={CONFIG_KEY: json.dumps(config)})
    return path


def run(capsys: pytest.CaptureFixture[str], tmp_path: Path, *args: object) -> tuple[int, str]:
    draw_line("a1!").save(tmp_path / "line.png")
    code = main([str(a).replace("{img}", str(tmp_path / "line.png")) for a in args])
    return code, capsys.readouterr().err


def assert_one_line(err: str, path: Path, problem: str) -> None:
    assert err == f"pwocr: error: {path}: malformed model config ({problem})\n"


@pytest.mark.parametrize("command", [["recognize", "{img}"], ["export", "--out", "out.onnx"]])
def test_alphabet_of_another_type_is_one_line(capsys, tmp_path, command):
    bad = edited(tmp_path / "bad.safetensors", alphabet=12345)
    code, err = run(capsys, tmp_path, *command, "--checkpoint_path", bad)
    assert code == 2
    assert_one_line(err, bad, "alphabet must be a string, not an integer")


def test_repeated_character_names_the_file_and_the_character_only(capsys, tmp_path):
    alphabet = tiny_config()["alphabet"]
    bad = edited(tmp_path / "bad.safetensors", alphabet=alphabet[:-1] + "a")
    code, err = run(capsys, tmp_path, "recognize", "{img}", "--checkpoint_path", bad)
    assert code == 2
    assert_one_line(err, bad, "the alphabet repeats 'a'")


@pytest.mark.parametrize("temperature", [math.nan, math.inf, -1.0, 0])
def test_temperature_must_be_finite_and_positive(capsys, tmp_path, temperature):
    bad = edited(tmp_path / "bad.safetensors", temperature=temperature)
    code, err = run(capsys, tmp_path, "recognize", "{img}", "--checkpoint_path", bad)
    assert code == 2
    assert_one_line(err, bad, f"temperature {temperature} must be a finite positive number")


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"colour": True}, "unknown key 'colour'"),
        ({"alphabet": None}, "missing key 'alphabet'"),
        ({"max_width": "800"}, "max_width must be an integer, not a string"),
        ({"height": 32.0}, "height must be an integer, not a number"),
        ({"min_width": True}, "min_width must be an integer, not a boolean"),
        ({"width_step": None, "pad_multiple": None, "in_channels": [1]}, "in_channels must be an integer, not a list"),
        ({"temperature": "1"}, "temperature must be a number, not a string"),
        ({"lookalike_refiner": 1}, "lookalike_refiner must be true or false, not an integer"),
        ({"formats": [["aa", "0.5"]]}, "formats must be a list of [shape, share] pairs, not a list"),
        ({"format_weight": math.inf}, "format prior out of range: weight inf, floor 0.0, shares must lie in (0, 1]"),
        ({"size": "x" * 1000}, "unknown model architecture 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...; choose"),
        ({"max_width": 10**9}, "max_width 1000000000 and pad_multiple 32 must be at most 32768"),
        ({"alphabet": ""}, "the alphabet is empty"),
    ],
)
def test_every_malformed_value_is_one_line_naming_the_file(changes, problem):
    text = json.dumps({k: v for k, v in {**tiny_config(), **changes}.items() if v is not None})
    with pytest.raises(PwocrError) as raised:
        config_from_json(text, "m.safetensors")
    assert str(raised.value).startswith(f"m.safetensors: malformed model config ({problem}")
    assert "\n" not in str(raised.value) and len(str(raised.value)) < 200


@pytest.mark.parametrize("text", ["[1, 2]", "{oops", "[" * 100_000], ids=["list", "broken", "deep"])
def test_metadata_that_is_no_json_object_is_one_line(text):
    with pytest.raises(PwocrError, match=r"^m\.onnx: malformed model config \("):
        config_from_json(text, "m.onnx")


def test_valid_configs_still_read():
    config = ModelConfig("ab", "crnn-svtr", temperature=0.9, formats=(("aa", 0.5),), format_floor=0.1, format_weight=1)
    assert ModelConfig.from_dict(config.to_dict()) == config
    assert config_from_json(json.dumps({"alphabet": "ab", "size": "crnn-tiny", "temperature": 2}), "m").temperature == 2
    with pytest.raises(PwocrError, match="temperature nan"):
        ModelConfig("ab", temperature=math.nan)


def onnx_with_config(path: Path, text: str) -> Path:
    """A one-node graph with pwocr's output names and ``text`` as its config metadata."""
    graph = helper.make_graph(
        [helper.make_node("Identity", ["images"], ["log_probs"])],
        "g",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, None)],
        [helper.make_tensor_value_info("log_probs", TensorProto.FLOAT, None)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    helper.set_model_props(model, {CONFIG_KEY: text})
    onnx.save(model, str(path))
    return path


def test_an_onnx_files_config_gets_the_same_checks(capsys, tmp_path):
    bad = onnx_with_config(tmp_path / "bad.onnx", json.dumps({**tiny_config(), "temperature": math.nan}))
    code, err = run(capsys, tmp_path, "recognize", "{img}", "--checkpoint_path", bad)
    assert code == 2
    assert_one_line(err, bad, "temperature nan must be a finite positive number")


def test_a_pt_checkpoints_config_and_weights_are_checked(tmp_path):
    torch.save({"model": {}, "model_config": {**tiny_config(), "alphabet": 5}}, tmp_path / "bad.pt")
    with pytest.raises(PwocrError) as raised:
        read_config(tmp_path / "bad.pt")
    assert str(raised.value).endswith("bad.pt: malformed model config (alphabet must be a string, not an integer)")
    torch.save({"model": {"w": [1.0]}, "model_config": tiny_config()}, tmp_path / "list.pt")
    with pytest.raises(PwocrError) as raised:
        load_state(tmp_path / "list.pt")
    assert str(raised.value).endswith("list.pt: not a pwocr training checkpoint (its model is not a dict of tensors)")


def within_seconds(call: Callable[[], object], seconds: float = 10) -> BaseException | None:
    """What ``call`` raised, failing the test if it still waits after ``seconds`` (it is left in a daemon thread)."""
    outcome: list[BaseException | None] = []

    def target() -> None:
        try:
            call()
            outcome.append(None)
        except BaseException as e:  # handed back to the test
            outcome.append(e)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert outcome, "blocked on the named pipe"
    return outcome[0]


@pytest.mark.parametrize("suffix", [".safetensors", ".onnx"])
def test_a_named_pipe_is_refused_without_opening_it(capsys, tmp_path, suffix):
    fifo = tmp_path / f"pipe{suffix}"
    os.mkfifo(fifo)
    code, err = run(capsys, tmp_path, "recognize", "{img}", "--checkpoint_path", fifo)
    assert (code, err) == (2, f"pwocr: error: {fifo}: a FIFO (named pipe), not a regular file\n")
    for call in (lambda: read_config(fifo), lambda: OnnxEngine(fifo)):
        raised = within_seconds(call)
        assert isinstance(raised, PwocrError) and str(raised) == f"{fifo}: a FIFO (named pipe), not a regular file"
