import pytest

from pwocr.data.labels import read_labels, write_labels
from pwocr.errors import PwocrError

AWKWARD = ["a,b", 'say "hi"', "back\\slash", "'", '"', ",", "x\\,\"y'"]


def test_awkward_labels_round_trip(tmp_path):
    rows = [(f"{i}.png", label) for i, label in enumerate(AWKWARD)]
    write_labels(tmp_path / "labels.csv", rows)
    items = read_labels(tmp_path / "labels.csv")
    assert [i.label for i in items] == AWKWARD
    assert items[0].path == tmp_path / "0.png"


def test_reads_the_domain_style_quoted_label(tmp_path):
    (tmp_path / "l.csv").write_text('image,label\nIMG.jpg,"""]t4e^WQ4>g"\n')
    assert read_labels(tmp_path / "l.csv", "photos")[0].label == '"]t4e^WQ4>g'
    assert str(read_labels(tmp_path / "l.csv", "photos")[0].path) == "photos/IMG.jpg"


def test_byte_order_mark_and_crlf_and_blank_lines(tmp_path):
    (tmp_path / "l.csv").write_bytes(b"\xef\xbb\xbffilename,label\r\na.png,abc\r\n\r\nb.png,x y\r\n")
    assert [i.label for i in read_labels(tmp_path / "l.csv")] == ["abc", "x y"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("filename,label\n", "no labelled rows"),
        ("filename,label\na.png\n", "expected 2 columns"),
        ("filename,label\na.png,\n", "label of a.png is empty"),
        ("filename,label\n,abc\n", "filename column is empty"),
    ],
)
def test_bad_csv_gives_a_line_naming_the_file(tmp_path, text, message):
    (tmp_path / "l.csv").write_text(text)
    with pytest.raises(PwocrError, match=message) as e:
        read_labels(tmp_path / "l.csv")
    assert "l.csv" in str(e.value) and "\n" not in str(e.value)


def test_missing_csv(tmp_path):
    with pytest.raises(PwocrError, match="not found"):
        read_labels(tmp_path / "nope.csv")


def test_write_is_atomic_and_leaves_no_temp_files(tmp_path):
    write_labels(tmp_path / "p.csv", [("a", "1")])
    write_labels(tmp_path / "p.csv", [("b", "2")])
    assert [p.name for p in tmp_path.iterdir()] == ["p.csv"]
    assert (tmp_path / "p.csv").read_text() == "filename,label\nb,2\n"


def test_split_is_seeded_disjoint_and_complete(tmp_path):
    from pwocr.data.labels import split_labels

    write_labels(tmp_path / "all.csv", [(f"{i}.png", f"l{i}") for i in range(10)])
    assert split_labels(tmp_path / "all.csv", tmp_path / "s", 0.2, seed=1) == {"train": 8, "val": 2}
    train = read_labels(tmp_path / "s" / "train.csv", tmp_path)
    val = read_labels(tmp_path / "s" / "val.csv", tmp_path)
    assert sorted(i.label for i in train + val) == sorted(f"l{i}" for i in range(10))
    assert not {i.label for i in train} & {i.label for i in val}
    split_labels(tmp_path / "all.csv", tmp_path / "t", 0.2, seed=1)
    assert (tmp_path / "s" / "val.csv").read_text() == (tmp_path / "t" / "val.csv").read_text()
    with pytest.raises(PwocrError):
        split_labels(tmp_path / "all.csv", tmp_path / "u", 1.5)


def test_split_with_a_test_share_keeps_the_validation_rows_and_holds_out_the_rest(tmp_path):
    from pwocr.data.labels import split_labels

    write_labels(tmp_path / "all.csv", [(f"{i}.png", f"l{i}") for i in range(20)])
    split_labels(tmp_path / "all.csv", tmp_path / "v", 0.2, seed=3)
    assert split_labels(tmp_path / "all.csv", tmp_path / "t", 0.2, seed=3, test_fraction=0.3) == {
        "train": 10,
        "val": 4,
        "test": 6,
    }
    assert (tmp_path / "v" / "val.csv").read_text() == (tmp_path / "t" / "val.csv").read_text()
    parts = [{i.label for i in read_labels(tmp_path / "t" / f"{n}.csv", tmp_path)} for n in ("train", "val", "test")]
    assert set().union(*parts) == {f"l{i}" for i in range(20)}
    assert sum(len(p) for p in parts) == 20
    with pytest.raises(PwocrError, match="too few rows"):
        split_labels(tmp_path / "all.csv", tmp_path / "u", 0.5, test_fraction=0.6)
    # Split again without a test share: the old test.csv would overlap the new train.csv.
    split_labels(tmp_path / "all.csv", tmp_path / "t", 0.2, seed=3)
    assert not (tmp_path / "t" / "test.csv").exists()


def test_headerless_csv_is_an_error_unless_declared(tmp_path):
    (tmp_path / "l.csv").write_text("a.png,abc\nb.png,def\n")
    with pytest.raises(PwocrError, match=r"l.csv:1: expected a header row.*--no_header") as refused:
        read_labels(tmp_path / "l.csv", header=True)  # as a command that has --no_header reads it
    assert "abc" not in str(refused.value)  # the first row's label is a password: never in an error
    assert [i.label for i in read_labels(tmp_path / "l.csv", header=False)] == ["abc", "def"]


def test_unquoted_comma_is_an_error_naming_the_line(tmp_path):
    (tmp_path / "l.csv").write_text("filename,label\na.png,abc\nb.png,d,ef\n")
    with pytest.raises(PwocrError, match=r"l.csv:3: expected 2 columns .* found 3 \(quote"):
        read_labels(tmp_path / "l.csv")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('filename,label\na.png,ok\nb.png,"abc\nc.png,Zz9\n', r"x.csv:3: a quote \(\"\) opens here and is not closed"),
        ('filename,label\n"a.png,abc\nb.png,Zz9\n', r"x.csv:2: a quote \(\"\) opens here and is not closed"),
    ],
)
def test_an_unclosed_quote_is_named_as_such_at_its_line(tmp_path, text, message):
    (tmp_path / "x.csv").write_text(text)
    with pytest.raises(PwocrError, match=message):
        read_labels(tmp_path / "x.csv")


def test_a_file_that_is_not_utf8_is_named_by_line_not_byte(tmp_path):
    (tmp_path / "x.csv").write_bytes(b"filename,label\na.png,abc\nb.png,caf\xe9\n")
    with pytest.raises(
        PwocrError, match=r"x.csv:3: not UTF-8 \(byte 0xe9; a latin-1 or Windows file\? save it as UTF-8\)"
    ):
        read_labels(tmp_path / "x.csv")


def test_rows_after_a_label_spanning_lines_keep_their_own_line_numbers(tmp_path):
    (tmp_path / "x.csv").write_text('filename,label\na.png,"x,\ny"\nb.png,ok\nc.png\n')
    with pytest.raises(PwocrError, match=r"x.csv:2: a quote"):
        read_labels(tmp_path / "x.csv")
    (tmp_path / "y.csv").write_text('filename,label\na.png,"q""x"\nb.png,ok\nc.png\n')
    with pytest.raises(PwocrError, match=r"y.csv:4: expected 2 columns"):
        read_labels(tmp_path / "y.csv")
