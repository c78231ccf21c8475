#!/usr/bin/env bash
# Bounds, not pins, proven: in fresh venvs, install the lowest releases pyproject.toml allows, then
# the newest, and run the reading and serving tests with each (torch stays the CPU 2.13.0 in both:
# the only torch this machine installs without pulling CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."
scratch=$(mktemp -d /tmp/pwocr-versions.XXXXXX)
trap 'rm -rf "$scratch"; rm -rf build' EXIT
tests=(tests/test_extras.py tests/test_packaging.py tests/inference tests/decoding tests/layout
       tests/cli/test_recognize_io.py tests/cli/test_recognize_photo.py tests/serving/test_api.py)
python .ci/lowest_constraints.py pyproject.toml serve,train,dev > "$scratch/lowest.txt"
for bound in lowest newest; do
  python -m venv "$scratch/$bound"
  py="$scratch/$bound/bin/python"
  "$py" -m pip install -q torch==2.13.0
  if [ "$bound" = lowest ]; then
    # The dev tools the tests below need, at their lowest too; schemathesis and playwright (for
    # tests not run here) would lift rich and others above the bounds under test.
    "$py" -m pip install -q -c "$scratch/lowest.txt" -e ".[serve,train]" pytest requests
  else
    "$py" -m pip install -q -e ".[serve,train,dev]"
  fi
  echo "$bound: $("$py" -m pip freeze | grep -iE '^(numpy|pillow|opencv-python-headless|onnxruntime|pillow.heif|fastapi|starlette|uvicorn|python-multipart|safetensors|onnx|pytest)==' | tr '\n' ' ')"
  "$py" -m pytest -p no:cacheprovider "${tests[@]}"
done
