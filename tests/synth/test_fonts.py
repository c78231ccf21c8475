import numpy as np
import pytest
from PIL import Image, ImageDraw

from pwocr.alphabet import PRINTABLE_94
from pwocr.synth.fonts import bundled_fonts, fonts_for, load_font


@pytest.mark.parametrize("font", bundled_fonts(), ids=lambda f: f.family)
def test_font_draws_all_94_characters_as_distinct_glyphs(font):
    face = load_font(font.path, 32)
    bitmaps = {}
    for char in PRINTABLE_94:
        image = Image.new("L", (64, 64))
        ImageDraw.Draw(image).text((12, 8), char, font=face, fill=255)
        pixels = np.asarray(image)
        assert pixels.max() > 0, f"{font.family} draws nothing for {char!r}"
        bitmaps.setdefault(pixels.tobytes(), []).append(char)
    same = [chars for chars in bitmaps.values() if len(chars) > 1]
    assert not same, f"{font.family} draws these alike: {same}"


def test_fonts_carry_licences_and_stay_small():
    fonts = bundled_fonts()
    assert {f.category for f in fonts} >= {"sans", "mono", "serif"}
    for font in fonts:
        assert font.license.is_file() and font.license.stat().st_size > 100
    folder = fonts[0].path.parent
    total = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    assert total <= 15 * 1024 * 1024


def test_held_out_fonts_are_never_training_fonts():
    train = {f.path for f in fonts_for("train")}
    held_out = {f.path for f in fonts_for("eval")}
    assert train and held_out and not train & held_out


def test_metric_clones_of_common_fonts_are_bundled():
    families = {f.family for f in bundled_fonts()}
    assert {"Liberation Sans", "Liberation Mono", "Veranda"} <= families  # Arial/Helvetica, Courier New, Verdana


def test_font_folders_skip_fonts_missing_glyphs_and_held_out_files(tmp_path):
    import shutil

    from fontTools import subset

    from pwocr.alphabet import PRINTABLE_94
    from pwocr.synth.fonts import fonts_for, fonts_from_folder, training_fonts

    source = next(f.path for f in fonts_for("train") if f.path.suffix == ".ttf")
    (tmp_path / "sub").mkdir()
    shutil.copy(source, tmp_path / "sub" / source.name)
    shutil.copy(fonts_for("eval")[0].path, tmp_path / fonts_for("eval")[0].path.name)
    options = subset.Options()
    font = subset.load_font(str(source), options)
    subsetter = subset.Subsetter(options)
    subsetter.populate(text="abc")
    subsetter.subset(font)
    subset.save_font(font, str(tmp_path / "partial.ttf"), options)

    names = {f.path.name for f in fonts_from_folder(tmp_path, PRINTABLE_94)}
    assert names == {source.name}  # recursive; no box-drawing font; no held-out test font
    assert {f.path.name for f in fonts_from_folder(tmp_path, "abc")} == {source.name, "partial.ttf"}
    both = training_fonts(f"bundled:{tmp_path}", PRINTABLE_94)
    assert len(both) == len(fonts_for("train"))  # the copy of a bundled font is counted once


def test_a_folder_of_held_out_fonts_only_says_why_none_is_drawn(tmp_path):
    import shutil

    from pwocr.errors import PwocrError
    from pwocr.synth.fonts import fonts_for, fonts_from_folder

    shutil.copy(fonts_for("eval")[0].path, tmp_path)
    with pytest.raises(PwocrError, match=r"no \.ttf or \.otf fonts found outside the held-out benchmark families"):
        fonts_from_folder(tmp_path)


def test_the_lookalike_benchmark_families_are_kept_out_of_every_training_folder(tmp_path):
    """A held-out benchmark family installed where training looks (any file of its package) is skipped."""
    import shutil

    from pwocr.alphabet import PRINTABLE_94
    from pwocr.synth.fonts import fonts_for, fonts_from_folder, held_out_families

    families = held_out_families()
    assert len(families) >= 25 and len({f.category for f in families}) >= 8
    assert all(f.family not in {b.family for b in fonts_for("all")} for f in families)
    source = next(f.path for f in fonts_for("train") if f.path.suffix == ".ttf")
    # Copies of a training font under held-out file names, as an installed package would leave them.
    for name in ("osifont.ttf", "Px_IBM_EGA8.ttf", "ElstobD-8ptBold.otf"):
        shutil.copy(source, tmp_path / name)
    shutil.copy(source, tmp_path / source.name)
    assert {f.path.name for f in fonts_from_folder(tmp_path, PRINTABLE_94)} == {source.name}


def test_the_recipe_installs_no_held_out_package():
    from pathlib import Path

    from pwocr.synth.fonts import held_out_families

    recipe = Path(__file__).parents[2] / "recipes" / "fonts-debian.txt"
    packages = set(recipe.read_text().split())
    assert packages and not packages & {f.package for f in held_out_families()}


def _training_ttf():
    from pwocr.synth.fonts import fonts_for

    return next(f.path for f in fonts_for("train") if f.path.suffix == ".ttf")


def test_a_renamed_copy_of_a_held_out_family_is_still_kept_out(tmp_path):
    """A font that declares a held-out family in its name table is skipped whatever its file is called."""
    from fontTools.ttLib import TTFont

    from pwocr.alphabet import PRINTABLE_94
    from pwocr.synth.fonts import fonts_from_folder

    source = _training_ttf()
    font = TTFont(str(source))
    for record in font["name"].names:
        if record.nameID in (1, 16):
            record.string = "Karla"
    font.save(str(tmp_path / "MyNewSans-Regular.ttf"))
    (tmp_path / source.name).write_bytes(source.read_bytes())
    assert {f.path.name for f in fonts_from_folder(tmp_path, PRINTABLE_94)} == {source.name}


def test_a_caps_only_font_does_not_train(tmp_path):
    """Lower-case letters drawn with the capitals' glyphs (titling and all-caps fonts) are refused."""
    from fontTools.ttLib import TTFont

    from pwocr.synth.fonts import draws_plain_text

    source = _training_ttf()
    font = TTFont(str(source))
    for table in font["cmap"].tables:
        for letter in "abcdefghijklmnopqrstuvwxyz":
            if ord(letter.upper()) in table.cmap:
                table.cmap[ord(letter)] = table.cmap[ord(letter.upper())]
    font.save(str(tmp_path / "AllCaps.ttf"))
    assert draws_plain_text(source)
    assert not draws_plain_text(tmp_path / "AllCaps.ttf")
