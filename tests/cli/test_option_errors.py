"""A bad option is one line on stderr that names it, with exit status 2: no usage dump, no traceback."""

import re

import pytest

from pwocr.cli.main import main


def fail(capsys, *args) -> str:
    """Run ``pwocr args`` expecting exit status 2; the one line it printed on stderr."""
    try:
        code = main([str(a) for a in args])
    except SystemExit as e:
        code = e.code
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_a_bad_option_is_one_line_that_points_to_the_commands_help(capsys):
    line = fail(capsys, "recognize", "x.png", "--candidates", "-1")
    assert line.startswith("pwocr recognize: error: argument --candidates: must be at least 1")
    assert line.endswith("(pwocr recognize --help lists the options)")


def test_an_unknown_option_names_the_command_it_was_given_to(capsys):
    line = fail(capsys, "recognize", "x.png", "--candidatez", "3")
    assert (
        line
        == "pwocr recognize: error: unrecognized arguments: --candidatez 3 (pwocr recognize --help lists the options)"
    )


def test_a_missing_command_is_one_line(capsys):
    assert fail(capsys).startswith("pwocr: error: the following arguments are required: <command>")


@pytest.mark.parametrize("port", ["99999", "-1", "65536", "http"])
def test_serve_refuses_a_port_outside_0_to_65535(capsys, port):
    assert fail(capsys, "serve", "--port", port).startswith("pwocr serve: error: argument --port: ")


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--max_body_mb", "nan"), ("--max_body_mb", "inf"), ("--max_body_mb", "0"), ("--body_timeout", "inf")],
)
def test_serve_refuses_a_limit_that_is_not_a_finite_positive_number(capsys, flag, value):
    line = fail(capsys, "serve", flag, value)
    assert line.startswith(f"pwocr serve: error: argument {flag}: must be a finite number of ")


def test_synth_refuses_an_out_that_is_a_file(capsys, tmp_path):
    existing = tmp_path / "labels.txt"
    existing.write_text("keep me")
    for out in (existing, existing / "sub"):
        assert (
            fail(capsys, "synth", "--count", "2", "--out", out)
            == f"pwocr: error: --out {out}: {existing} is a file, not a folder"
        )
    assert fail(capsys, "synth", "--scenes", "--count", "2", "--out", existing).startswith(
        f"pwocr: error: --out {existing}"
    )
    assert existing.read_text() == "keep me"


def test_synth_refuses_a_shortest_password_longer_than_the_longest(capsys, tmp_path):
    out = tmp_path / "set"
    line = fail(capsys, "synth", "--count", "2", "--out", out, "--synth_min_length", "10", "--synth_max_length", "2")
    assert line == "pwocr: error: --synth_min_length 10 is more than --synth_max_length 2"
    assert not out.exists()  # refused before anything was written


@pytest.mark.parametrize(
    "flags",
    [["--alphabet", "digits"], ["--synth_min_length", "8"], ["--max_length", "12"], ["--colour"]],
)
def test_synth_scenes_refuses_a_line_option_it_would_ignore(capsys, tmp_path, flags):
    out = tmp_path / "set"
    line = fail(capsys, "synth", "--scenes", "--count", "2", "--out", out, *flags)
    assert line.startswith("pwocr: error: --scenes composes whole photos") and "applies to lines only" in line
    assert not out.exists()


@pytest.mark.parametrize(
    ("flag", "value"),
    [("--count", "-1"), ("--count", "0"), ("--synth_min_length", "0"), ("--synth_max_length", "0"), ("--seed", "-1")],
)
def test_synth_refuses_nonsense_numbers(capsys, tmp_path, flag, value):
    args = ["synth", "--count", "2", "--out", tmp_path / "set", flag, value]
    assert fail(capsys, *args).startswith("pwocr synth: error: argument ")


def test_calibrate_refuses_a_negative_seed(capsys, tmp_path):
    line = fail(capsys, "calibrate", "--out", tmp_path / "c.safetensors", "--seed", "-1")
    assert line.startswith("pwocr calibrate: error: argument --fixed_seed/--seed: must be at least 0")


@pytest.mark.parametrize(
    ("option", "value", "bound"),
    [
        ("--candidates", "51", "at most 50"),
        ("--length", "257", "at most 256"),
        ("--max_length", "100000", "at most 256"),
    ],
)
def test_reading_options_have_the_bounds_the_server_and_the_page_have(capsys, option, value, bound):
    with pytest.raises(SystemExit) as refused:
        main(["recognize", "x.png", option, value])
    assert refused.value.code == 2
    assert f"argument {option}: must be {bound}, got {value}" in capsys.readouterr().err


def test_the_page_form_writes_the_same_bounds():
    from pathlib import Path

    import pwocr.serving
    from pwocr.options import MAX_CANDIDATES, MAX_LENGTH_OPTION

    page = (Path(pwocr.serving.__file__).parent / "static" / "index.html").read_text()
    assert f'name="candidates" min="1" max="{MAX_CANDIDATES}"' in page
    for name in ("length", "min_length", "max_length"):
        assert re.search(rf'name="{name}" min="\d" max="{MAX_LENGTH_OPTION}"', page), name
