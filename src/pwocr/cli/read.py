"""``pwocr recognize`` and ``pwocr evaluate``: reading images with a model, and scoring it."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections import Counter
from typing import TYPE_CHECKING, TextIO

from pwocr.cli.common import add_checkpoint, add_use_cuda, at_least, examples, file_name, positive
from pwocr.cli.output import FORMATS, ResultWriter, RunOutputs
from pwocr.errors import PwocrError
from pwocr.options import LAYOUTS, MAX_CANDIDATES, MAX_LENGTH_OPTION

if TYPE_CHECKING:
    from pwocr.cli.output import Result
    from pwocr.decoding.constraints import Constraints
    from pwocr.inference.recognizer import Recognizer

logger = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction) -> None:
    _register_recognize(sub)
    _register_evaluate(sub)


def _register_recognize(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "recognize",
        help="read passwords from images",
        description="Read the password in each image: image files, folders, glob patterns or - (standard "
        "input). An image is a cropped line, or a whole photo whose text lines are found, read in order, "
        "and the password among them picked (--layout). Prints each reading with its probability, marks the characters it is unsure of and lists "
        "the next candidates; --quiet prints the password alone, --format json|jsonl|csv|tsv is for "
        "programs. The seed's --imgs_folder writes prediction.csv into the folder.",
        epilog=examples(
            "pwocr recognize photo.jpg",
            "pwocr recognize wifi-card.jpg --draw found.png      # a whole photo: lines, then the pick",
            "pwocr recognize photo.jpg --quiet | xclip -selection clipboard",
            "pwocr recognize photo.heic --candidates 3 --charset alnum --length 12",
            "pwocr recognize photos/ --recursive --format csv --out readings.csv",
            "cat photo.png | pwocr recognize - --format json",
            "pwocr recognize --fuse a.jpg b.jpg c.jpg          # several photos of one line: one fused reading",
            "pwocr recognize --imgs_folder photos/       # the seed's way: writes photos/prediction.csv",
        ),
    )
    _add_recognize_inputs(p)
    model = p.add_argument_group("model")
    add_checkpoint(model)
    model.add_argument(
        "--alphabet",
        "--alphapet",
        dest="alphabet",
        default=None,
        help="the model's alphabet (checked against the checkpoint); a subset restricts the reading",
    )
    _add_decoding(p)

    output = p.add_argument_group("output")
    output.add_argument("--format", choices=FORMATS, default="text", help="text for people; the others for programs")
    output.add_argument(
        "--json", dest="format", action="store_const", const="jsonl", help="one JSON object per image (--format jsonl)"
    )
    output.add_argument("-q", "--quiet", action="store_true", help="print the password alone, one per line")
    output.add_argument(
        "-o", "--out", type=file_name, default=None, metavar="FILE", help="write the results to FILE (atomically)"
    )
    output.add_argument(
        "--show_raw", action="store_true", help="also print the raw CTC output (one symbol per column, - for blank)"
    )
    output.add_argument(
        "--draw",
        type=file_name,
        default=None,
        metavar="PATH",
        help="draw each whole photo with its lines, readings and the pick: a PNG file for one image, "
        "else a folder of them",
    )
    _add_running(p)
    p.set_defaults(handler=run_recognize)


def _add_recognize_inputs(p: argparse.ArgumentParser) -> None:
    inputs = p.add_argument_group("input")
    inputs.add_argument(
        "images", nargs="*", metavar="IMAGE", help="image files, folders, glob patterns, or - for standard input"
    )
    inputs.add_argument(
        "--imgs_folder",
        "--folder",
        dest="imgs_folder",
        default=None,
        metavar="FOLDER",
        help="read every image here and write prediction.csv into it (unless --out names another file)",
    )
    inputs.add_argument("-r", "--recursive", action="store_true", help="read the images of subfolders too")
    inputs.add_argument(
        "--fuse",
        action="store_true",
        help="the inputs are several photos (or a video) of one password line: fuse them into one reading",
    )
    inputs.add_argument(
        "--frames",
        type=positive,
        default=12,
        metavar="N",
        help="with --fuse, frames taken from each video, spread over it (default: 12)",
    )
    inputs.add_argument(
        "--layout",
        choices=LAYOUTS,
        default="auto",
        help="line: each image is one cropped line; photo: find the text lines and pick the password; "
        "auto: decide per image",
    )


def _register_evaluate(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "evaluate",
        help="score a checkpoint on a labelled set",
        description="Score a checkpoint on a filename,label CSV: word accuracy (top-1 and top-k), "
        "character accuracy, precision, recall, F1 and error rate, latency; optionally a confusion "
        "matrix PNG and an HTML page of the wrong readings.",
        epilog=examples(
            "pwocr evaluate --val_file photos/val.csv",
            "pwocr evaluate --val_file words/labels.csv --ignore_case --ignore_symbols --json",
            "pwocr evaluate --val_file photos/val.csv --display_confusion c.png --display_wrong w.html",
        ),
    )
    data = p.add_argument_group("data")
    data.add_argument(
        "--val_file", "--csv", dest="val_file", required=True, metavar="CSV", help="the filename,label CSV"
    )
    data.add_argument(
        "--imgs_folder",
        "--images",
        dest="imgs_folder",
        default=None,
        metavar="FOLDER",
        help="folder the CSV's file names are relative to (default: the CSV's folder)",
    )
    data.add_argument("--no_header", dest="header", action="store_false", help="the CSV has no header row")
    data.add_argument(
        "--allow_outside",
        action="store_true",
        help="read CSV names that leave the images folder (../ or absolute); refused by default",
    )
    scoring = p.add_argument_group("scoring")
    scoring.add_argument("--ignore_case", action="store_true", help="score ignoring case (scene-text benchmarks)")
    scoring.add_argument(
        "--ignore_symbols", action="store_true", help="score letters and digits only (scene-text benchmarks)"
    )
    model = p.add_argument_group("model")
    add_checkpoint(model)
    _add_decoding(p, default_candidates=5)
    output = p.add_argument_group("output")
    output.add_argument("--json", action="store_true", help="print the metrics as one JSON object")
    output.add_argument(
        "--display_confusion",
        nargs="?",
        const="confusion.png",
        default=None,
        metavar="PNG",
        help="write a confusion-matrix PNG (confusion.png when no name is given)",
    )
    output.add_argument(
        "--display_wrong",
        nargs="?",
        const="wrong.html",
        default=None,
        metavar="HTML",
        help="write an HTML page of the wrong readings (wrong.html when no name is given)",
    )
    _add_running(p)
    p.set_defaults(handler=run_evaluate)


def _add_running(p: argparse.ArgumentParser) -> None:
    running = p.add_argument_group("running")
    running.add_argument(
        "--batch_size",
        "--batch-size",
        dest="batch_size",
        type=positive,
        default=32,
        metavar="N",
        help="lines per batch",
    )
    add_use_cuda(running)
    # The seed's scripts took these everywhere; reading is deterministic and runs in one process.
    running.add_argument("--n_workers", "--workers", dest="n_workers", type=int, default=1, help=argparse.SUPPRESS)
    running.add_argument("--fixed_seed", "--seed", dest="seed", type=int, default=None, help=argparse.SUPPRESS)


def _add_decoding(p: argparse.ArgumentParser, default_candidates: int = 1) -> None:
    decoding = p.add_argument_group("decoding")
    decoding.add_argument(
        "--candidates",
        type=at_least(1, MAX_CANDIDATES),
        default=default_candidates,
        metavar="K",
        help=f"list the K best readings, up to {MAX_CANDIDATES} (CTC beam search when K > 1)",
    )
    decoding.add_argument(
        "--charset",
        default=None,
        help="allowed characters: digits, hex, alnum, letters, punctuation... joined with +, or literal:<chars>",
    )
    length = at_least(1, MAX_LENGTH_OPTION)
    decoding.add_argument("--length", type=length, default=None, metavar="N", help="the password has N characters")
    decoding.add_argument(
        "--min_length",
        type=at_least(0, MAX_LENGTH_OPTION),
        default=None,
        metavar="N",
        help="the password has at least N characters",
    )
    decoding.add_argument(
        "--max_length", type=length, default=None, metavar="N", help="the password has at most N characters"
    )
    decoding.add_argument(
        "--backend", choices=["onnx", "torch"], default="onnx", help="inference engine: onnxruntime or PyTorch"
    )


def _constraints(
    args: argparse.Namespace, model_alphabet: str, checkpoint: object = "the checkpoint"
) -> Constraints | None:
    from pwocr.alphabet import resolve_charset
    from pwocr.decoding.constraints import Constraints

    allowed = resolve_charset(args.charset) if args.charset else None
    if getattr(args, "alphabet", None):
        given = resolve_charset(args.alphabet)
        if given != model_alphabet:
            extra = [c for c in given if c not in model_alphabet]
            if extra:
                raise PwocrError(f"--alphabet has {extra[0]!r}, which the alphabet of {checkpoint} does not have")
            allowed = "".join(c for c in given if allowed is None or c in allowed)
    return Constraints.from_options(allowed, args.length, args.min_length, args.max_length, model_alphabet)


def _recognizer(args: argparse.Namespace) -> Recognizer:
    from pwocr.inference.recognizer import Recognizer

    device = "cpu"
    if args.use_cuda:
        from pwocr.extras import require

        require("train", "--use_cuda")
        import torch

        if torch.cuda.is_available():
            device = "cuda"
        else:
            print("pwocr: --use_cuda: no CUDA GPU is available; running on the CPU", file=sys.stderr)
    return Recognizer(args.checkpoint, device=device, batch_size=args.batch_size, backend=args.backend)


def _frames(sources, per_video: int) -> list:
    """The inputs of ``--fuse`` as frames: images as they are, ``per_video`` frames of each video."""
    from pathlib import Path

    from pwocr.data.images import VIDEO_SUFFIXES, video_frames

    frames: list = []
    failures: list[PwocrError] = []
    for source in sources:
        if isinstance(source, (str, Path)) and Path(source).suffix.lower() in VIDEO_SUFFIXES:
            try:
                frames.extend(video_frames(source, per_video))
            except PwocrError as e:  # one bad video among the inputs is reported, as a bad photo is
                failures.append(e)
        else:
            frames.append(source)
    if not frames and len(failures) == 1:
        raise failures[0]
    for failure in failures:
        logger.warning("%s; skipped", failure)
    return frames


def run_recognize(args: argparse.Namespace) -> int:
    from pathlib import Path

    from pwocr.data.images import NamedBytes, expand_inputs, list_images
    from pwocr.layout import PhotoReading
    from pwocr.reader import read_images

    if not args.images and not args.imgs_folder:
        raise PwocrError("give image files, folders or - (standard input), or a folder with --imgs_folder")
    if args.quiet and args.out is None and (args.format != "text" or args.show_raw):
        raise PwocrError("--quiet prints the passwords alone: --format and --show_raw apply only to an --out file")
    folder = Path(args.imgs_folder) if args.imgs_folder else None
    folder_files = list_images(folder, args.recursive) if folder is not None else []
    if folder is not None and not folder_files:
        more = "" if args.recursive else " (--recursive reads subfolders)"
        raise PwocrError(f"{folder}: no images found{more}")
    recognizer = _recognizer(args)
    constraints = _constraints(args, recognizer.alphabet.chars, recognizer.checkpoint)

    unnamed: dict[str, NamedBytes] = {}  # images with no file to reopen for --draw (stdin)
    read_files = FilesRead()  # what --out and --draw must not replace

    def sources():
        if args.images:
            for source in expand_inputs(args.images, args.recursive):
                if isinstance(source, NamedBytes):
                    unnamed[source.name] = source
                else:
                    read_files.add(source)
                yield source
        for source in folder_files:
            read_files.add(source)
            yield source

    # Where results go: stdout, and --out (or, for the seed's --imgs_folder, prediction.csv in it).
    target = args.out or (folder / "prediction.csv" if folder is not None else None)
    relative = folder if (folder is not None and not args.out) else None

    def terminal() -> ResultWriter:
        return ResultWriter(sys.stdout, args.format, args.quiet, args.show_raw)

    def file_writer(stream: TextIO) -> ResultWriter:
        fmt = args.format if args.out else "csv"
        return ResultWriter(stream, fmt, show_raw=args.show_raw, names_relative_to=relative)

    outputs = RunOutputs(
        terminal if args.out is None or args.quiet else None, target, file_writer, terminal, read_files.__contains__
    )

    inputs = list(args.images) + ([str(folder)] if folder is not None else [])
    single = len(inputs) == 1 and (inputs[0] == "-" or Path(inputs[0]).is_file())
    draw = _Drawer(args.draw, single, read_files) if args.draw else None
    if args.fuse:
        results = [recognizer.read_fused(_frames(sources(), args.frames), args.candidates, constraints)]
    else:
        results = read_images(recognizer, sources(), args.layout, args.candidates, constraints)
    tally: Counter[str] = Counter()
    for result in results:
        tally[_outcome(result, constraints is not None)] += 1
        if draw is not None and isinstance(result, PhotoReading):
            draw(unnamed.get(result.image, result.image), result)
        outputs.write(result)
    read, skipped, unfound = tally["read"] + tally["unfound"], tally["skipped"], tally["unfound"]
    written = outputs.close()
    if written is not None and not args.quiet:
        logger.info("wrote %s", written)
    total = read + skipped
    if (total > 1 or skipped) and not args.quiet:
        logger.info("read %d of %d images, skipped %d", read, total, skipped)
    if not read:
        logger.error("error: no image could be read")
        return 2
    return 2 if outputs.failed or (draw is not None and draw.failed) else 1 if skipped or unfound else 0


def _outcome(result: Result, constrained: bool) -> str:
    """``skipped``, ``unfound`` (read, but no password in it) or ``read``; what is missing is logged."""
    from pwocr.inference.recognizer import Skipped
    from pwocr.layout import PhotoReading

    if isinstance(result, Skipped):
        logger.warning("%s; skipped", result.reason)
        return "skipped"
    if isinstance(result, PhotoReading):
        if result.password is not None:
            return "read"
        logger.warning("%s: no password found among %d lines of text", result.image, len(result.lines))
        return "unfound"
    if result.text:
        return "read"
    why = "no reading fits the constraints" if constrained else "no characters read"
    logger.warning("%s: %s", result.image, why)
    return "unfound"


class FilesRead:
    """The files a run has read, by identity (device and inode): whatever name reaches them, none is
    replaced by the run's own outputs (``pwocr recognize photo.png -o photo.png``)."""

    def __init__(self) -> None:
        self._seen: set[tuple[int, int]] = set()

    def add(self, path: str | os.PathLike[str]) -> None:
        identity = _identity(path)
        if identity is not None:
            self._seen.add(identity)

    def __contains__(self, path: object) -> bool:
        return isinstance(path, (str, os.PathLike)) and _identity(path) in self._seen


def _identity(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    try:
        found = os.stat(path)
    except (OSError, ValueError):
        return None
    return found.st_dev, found.st_ino


class _Drawer:
    """``--draw``: one photo to the PNG named, or each photo to ``<folder>/<image name>.png``; never over an image read."""

    def __init__(self, target: str, single: bool, read_files: FilesRead) -> None:
        from pathlib import Path

        self.target, self.single, self.read_files = Path(target), single, read_files
        self.failed = False

    def __call__(self, source, photo) -> None:
        from pathlib import Path

        from pwocr.layout import draw_reading

        out = self.target if self.single else self.target / f"{Path(photo.image).name}.png"
        try:
            if out in self.read_files:
                raise PwocrError(f"{out}: one of the images read; not drawn over")
            draw_reading(photo, source, out)
        except PwocrError as e:
            self.failed = True
            logger.error("error: %s", e)
        except OSError as e:
            self.failed = True
            logger.error("error: %s: cannot draw (%s)", out, e.strerror or e)
        else:
            logger.info("drew %s", out)


def run_evaluate(args: argparse.Namespace) -> int:
    import json

    from pwocr.data.labels import check_labels, read_screened_labels
    from pwocr.evaluation.evaluate import evaluate, write_confusion_png, write_wrong_html
    from pwocr.extras import require

    if args.display_confusion:  # before the set is read, not after
        require("train", "--display_confusion")
    items, screened = read_screened_labels(args.val_file, args.imgs_folder, args.allow_outside, args.header)
    _refuse_reports_over_inputs(args, [args.val_file, *(item.path for item in items)])
    recognizer = _recognizer(args)
    constraints = _constraints(args, recognizer.alphabet.chars, recognizer.checkpoint)
    # Checked as training checks them: the first bad label named by file and line.
    check_labels(items, recognizer.alphabet, f"the alphabet of {args.checkpoint}")
    report = evaluate(
        recognizer,
        items,
        top_k=sorted({1, 3, 5, args.candidates}),
        constraints=constraints,
        ignore_case=args.ignore_case,
        ignore_symbols=args.ignore_symbols,
        skipped=screened,
    )
    if args.display_confusion:
        write_confusion_png(report, args.display_confusion)
    if args.display_wrong:
        write_wrong_html(report, args.display_wrong)
    # Scores of a subset are not the set's scores: any skipped row makes the exit status 1.
    status = 1 if report.skipped else 0
    if args.json:
        print(json.dumps(report.as_dict()))
        return status
    _print_metrics(report, args)
    return status


def _refuse_reports_over_inputs(args: argparse.Namespace, inputs: list) -> None:
    """``--display_confusion`` and ``--display_wrong`` may replace neither each other, the labels,
    an image nor the checkpoint: refused before anything is read."""
    from pathlib import Path

    from pwocr.checkpoints import resolve_checkpoint

    read_files = FilesRead()
    for path in [*inputs, resolve_checkpoint(args.checkpoint)]:
        read_files.add(path)
    reports = [
        (flag, value)
        for flag, value in (("--display_confusion", args.display_confusion), ("--display_wrong", args.display_wrong))
        if value
    ]
    for flag, value in reports:
        if value in read_files:
            raise PwocrError(f"{flag} {value}: one of the files read (the labels, an image or the checkpoint)")
    if len(reports) == 2 and Path(reports[0][1]).resolve() == Path(reports[1][1]).resolve():
        raise PwocrError(f"--display_confusion and --display_wrong both name {reports[0][1]}")


def _print_metrics(report, args: argparse.Namespace) -> None:
    m = report.metrics
    skipped = len(report.skipped)
    print(
        f"images                 {m.n}"
        + (f" of {m.n + skipped} rows: {skipped} skipped, listed above" if skipped else "")
    )
    print(f"word accuracy          {m.word_accuracy:.2%}")
    for k, v in report.top_k_word_accuracy.items():
        print(f"top-{k} word accuracy    {v:.2%}")
    print(f"character accuracy     {m.char_accuracy:.2%}")
    print(f"character precision    {m.precision:.2%}")
    print(f"character recall       {m.recall:.2%}")
    print(f"character F1           {m.f1:.2%}")
    print(f"character error rate   {m.cer:.2%}")
    print(f"latency per image      {report.latency_ms:.1f} ms")
    if args.display_confusion:
        print(f"confusion matrix       {args.display_confusion}")
    if args.display_wrong:
        print(f"wrong readings         {args.display_wrong}")
    if skipped:
        print(f"pwocr: scored {m.n} of {m.n + skipped} rows; {skipped} skipped (see above)", file=sys.stderr)
