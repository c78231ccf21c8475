#!/usr/bin/env bash
# The reader as a new user gets it: build the wheel, install it into a fresh venv without any extra,
# and check that it holds no torch and no OpenCV, reads the seed photo and a whole photo, and that `pwocr train`
# names the extra it needs in one line. Prints the wheel's parts and the install's size and packages.
# Run from the repository root in a venv with pwocr[train] (it composes the whole photo); ../shared
# sits beside the clone. Work happens in a scratch folder, never in the clone.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
scratch=$(mktemp -d /tmp/pwocr-clean-room.XXXXXX)
trap 'rm -rf "$scratch"' EXIT

# Size budgets (README, "What an install costs"): a wheel or an install past them is a regression.
wheel_budget_mb=40
install_budget_mb=320

python -m pip wheel -q --no-deps . -w "$scratch/dist"
rm -rf build src/*.egg-info
wheel=$(ls "$scratch"/dist/pwocr-*.whl)
python - "$wheel" "$wheel_budget_mb" <<'EOF'
import sys, zipfile
from collections import Counter
wheel, budget = sys.argv[1], float(sys.argv[2])
parts = Counter()
for info in zipfile.ZipFile(wheel).infolist():
    name = info.filename
    part = next((p for p in ("weights/ppocrv6/", "weights/", "fonts/", "serving/static/") if f"pwocr/{p}" in name), "code")
    parts[part] += info.compress_size
size = sum(parts.values()) / 1e6
print(f"wheel {size:.1f} MB: " + ", ".join(f"{p} {n / 1e6:.2f}" for p, n in parts.most_common()))
if size > budget:
    sys.exit(f"the wheel is {size:.1f} MB, over its {budget:g} MB budget")
EOF

python -m venv "$scratch/venv"
reader="$scratch/venv/bin"
site=$("$reader/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
before=$(du -sb "$site" | cut -f1)
start=$(date +%s%N)
"$reader/python" -m pip install -q "$wheel"
installed_s=$(( ($(date +%s%N) - start) / 1000000000 ))
installed_mb=$(( ($(du -sb "$site" | cut -f1) - before) / 1000000 ))
echo "installed ${installed_mb} MB in ${installed_s} s: $("$reader/python" -m pip freeze | grep -v '^pwocr' | cut -d= -f1 | tr '\n' ' ')"
if "$reader/python" -c 'import torch' 2>/dev/null; then echo "the reader installed torch" >&2; exit 1; fi
if "$reader/python" -c 'import cv2' 2>/dev/null; then echo "the reader installed OpenCV" >&2; exit 1; fi
if [ "$installed_mb" -gt "$install_budget_mb" ]; then
  echo "the reader's install is ${installed_mb} MB, over its ${install_budget_mb} MB budget" >&2
  exit 1
fi

cd "$scratch"
seed="$root/../shared/seed/IMG_20190423_162858.jpg"
reading=$("$reader/pwocr" recognize "$seed" --quiet)
[ "$reading" = '"]t4e^WQ4>g' ] || { echo "the seed photo read as $reading" >&2; exit 1; }
echo "seed photo: $reading"

pwocr synth --scenes --count 1 --out scenes >/dev/null
"$reader/pwocr" recognize scenes/scene0000.jpg --format json > photo.json
python - <<'EOF'
import json, sys
photo = json.load(open("photo.json"))[0]
print(f"whole photo: {len(photo['lines'])} lines read, a password picked")
sys.exit(not photo["password"])
EOF

set +e
"$reader/pwocr" train --help > train.out 2> train.err
status=$?
set -e
cat train.err
[ "$status" -eq 2 ] && [ ! -s train.out ] && [ "$(wc -l < train.err)" -eq 1 ] && grep -q "pip install 'pwocr\[train\]'" train.err \
  || { echo "pwocr train without [train] did not give the one-line hint (exit $status)" >&2; exit 1; }
echo "clean room: ok"
