"""The optional extras of pwocr: which modules each one brings, and the one line that says to install it.

``pip install pwocr`` reads passwords (lines and whole photos, CLI and Python API) with NumPy,
Pillow, onnxruntime and pillow-heif. Training, exporting and synthesis need ``[train]`` (torch,
OpenCV and friends), and so does reading a video's frames (OpenCV decodes them); the HTTP
server needs ``[serve]``. A feature whose extra is missing raises a
``MissingExtra``, which the CLI prints as one line naming the extra, never a traceback.
"""

from __future__ import annotations

import importlib.util

from pwocr.errors import PwocrError

#: The modules each extra of pyproject.toml installs (import names, not distribution names);
#: tests/test_extras.py checks that the two lists agree.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "train": ("torch", "safetensors", "onnx", "tensorboard", "matplotlib", "rich", "fontTools", "cv2"),
    "serve": ("fastapi", "fastapi_offline", "uvicorn", "python_multipart"),
}


#: The torch release the README installs before ``[train]`` (its CPU build on the project's machines).
TORCH = "2.13.0"


class MissingExtra(PwocrError, ImportError):
    """A feature needs an extra that is not installed (an ``ImportError`` too, for code that expects one)."""


def is_installed(module: str) -> bool:
    """Whether ``module`` can be imported, without importing it (``pwocr --help`` stays torch-free)."""
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent that fails to import, or a module set to None
        return False


def missing_modules(extra: str) -> list[str]:
    """The modules of ``extra`` that are not installed."""
    return [m for m in EXTRA_MODULES[extra] if not is_installed(m)]


def hint(extra: str, feature: str, missing: list[str] | None = None) -> str:
    """The one line that says ``feature`` needs ``extra``: ``pwocr train needs pwocr[train] (torch is not installed): ...``."""
    missing = missing_modules(extra) if missing is None else missing
    what = f" ({missing[0]} is not installed)" if missing else ""
    command = f"pip install 'pwocr[{extra}]'"
    if "torch" in missing or (extra == "train" and not is_installed("torch")):
        # torch first, as the README installs it: left to resolve alone, [train] would take the
        # newest torch, a CUDA build of several GB.
        command = f"pip install torch=={TORCH} && {command}"
    return f"{feature} needs pwocr[{extra}]{what}: {command}"


def require(extra: str, feature: str, modules: tuple[str, ...] | None = None) -> None:
    """Raise ``MissingExtra`` with the one-line hint when a module of ``extra`` is missing.

    ``modules``: the ones of ``extra`` the feature uses, when it needs only those (a video needs
    OpenCV, not torch); all of them by default.
    """
    missing = [m for m in modules if not is_installed(m)] if modules is not None else missing_modules(extra)
    if missing:
        raise MissingExtra(hint(extra, feature, missing))
