"""The package's shape: no import cycles, no import from a lower layer to a higher one, short functions.

Reads ``src/pwocr`` with ``ast`` (imports inside functions count too: they are dependencies all the
same). The layers, lowest first; a module may import its own package and any lower layer, never a
higher one nor another package of its own layer:

 0. errors
 1. alphabet, lookalikes, io, extras, rapidocr_models,   shared vocabulary, file helpers, how
    messages, options                                      pwocr's log messages are printed, and
                                                           the reading options' bounds
 2. data, decoding, model                                  images and labels; CTC decoding; the nn.Module
 3. synth                                                  rendering lines (writes label files with data/)
 4. checkpoints                                            model files: weights, config, metadata keys
 5. inference                                              engines, Recognizer, ONNX export
 6. layout                                                 whole photos: detection, lines, the password pick
 7. reader                                                 the entry: an image read as a line or a photo
 8. pwocr (the package root)                               the public API
 9. evaluation                                             metrics, calibration, `pwocr evaluate`
10. training                                               `pwocr train`
11. serving                                                the web server and page
12. cli                                                    the thin `pwocr` command
"""

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parents[1] / "src"

LAYERS = [
    {"pwocr.errors"},
    {
        "pwocr.alphabet",
        "pwocr.lookalikes",
        "pwocr.io",
        "pwocr.extras",
        "pwocr.rapidocr_models",
        "pwocr.messages",
        "pwocr.options",
    },
    {"pwocr.imaging"},
    {"pwocr.data", "pwocr.decoding", "pwocr.model"},
    {"pwocr.synth"},
    {"pwocr.checkpoints"},
    {"pwocr.inference"},
    {"pwocr.layout"},
    {"pwocr.reader"},
    {"pwocr"},
    {"pwocr.evaluation"},
    {"pwocr.training"},
    {"pwocr.serving"},
    {"pwocr.cli"},
]

MAX_FUNCTION_LINES = 80

#: Known exceptions, to shrink to nothing. Each entry is ``path:function``.
LONG_FUNCTIONS: set[str] = set()
LAYER_EXCEPTIONS: set[tuple[str, str]] = set()


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "pwocr").rglob("*.py"):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(name: str, path: Path) -> set[str]:
    """The pwocr modules ``name`` imports (``from pkg import module`` names the module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(parent + ([node.module] if node.module else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base)
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _group(module: str) -> tuple[int, str]:
    """The layer of ``module`` and the package that places it there."""
    best = None
    for level, members in enumerate(LAYERS):
        for member in members:
            exact = module == member
            inside = member != "pwocr" and module.startswith(member + ".")
            if (exact or inside) and (best is None or len(member) > len(best[1])):
                best = (level, member)
    assert best is not None, f"{module}: in no layer; add it to LAYERS"
    return best


def test_every_module_has_a_layer():
    for name in MODULES:
        _group(name)


def test_no_import_cycles():
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            pytest.fail("import cycle: " + " -> ".join([*path[path.index(name) :], name]))
        if name in done:
            return
        for dep in sorted(GRAPH[name]):
            visit(dep, [*path, name])
        done.add(name)

    for name in sorted(GRAPH):
        visit(name, [])


def test_no_import_from_a_lower_layer_to_a_higher_one():
    wrong = []
    for name, deps in GRAPH.items():
        level, group = _group(name)
        for dep in deps:
            dep_level, dep_group = _group(dep)
            if (dep_level > level or (dep_level == level and dep_group != group)) and (
                name,
                dep,
            ) not in LAYER_EXCEPTIONS:
                wrong.append(f"{name} (layer {level}) imports {dep} (layer {dep_level})")
    assert not wrong, "\n".join(wrong)


def test_no_function_is_longer_than_80_lines():
    long = []
    for path in MODULES.values():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                key = f"{path.relative_to(SRC).as_posix()}:{node.name}"
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES and key not in LONG_FUNCTIONS:
                    long.append(f"{key}: {lines} lines")
    assert not long, "\n".join(long)
