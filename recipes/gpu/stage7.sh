#!/usr/bin/env bash
# Stage 7 (MODEL_CARD.md): the stage-4 recipe on a lent GPU, with more of the conv stack learning.
# From the shipped weights (stage 5, also the distillation teacher), on fresh synthetic passwords
# rendered by 15 DataLoader workers in the training fonts, packed by subset_fonts.py (the GPU
# machine's working tree is capped at 64 MiB, /usr/share/fonts alone is 220 MB):
#
#   python recipes/gpu/subset_fonts.py /usr/share/fonts .gpu/fonts.tar.xz   # here; .gpu/ is git-ignored
#   bash recipes/gpu/stage7.sh OUT_DIR [SECONDS]                            # there, from the repo root
#
# The run stops cleanly (SIGINT) after SECONDS and can go on with
#   pwocr train --resume --out /tmp/stage7 --n_workers 15 --no_progress
# Its newest weights land in OUT_DIR/last.safetensors either way.
set -u
out=${1:?OUT_DIR}; seconds=${2:-470}
mkdir -p "$out" /tmp/fonts
tar xJf .gpu/fonts.tar.xz -C /tmp/fonts
export PYTHONPATH=$PWD/src PYTHONUNBUFFERED=1
timeout -s INT "$seconds" python3 -m pwocr.cli.main train --weights_file default --synth 1.0 \
  --fonts bundled:/tmp/fonts/fonts --synth_min_length 4 --synth_max_length 16 --max_width 1024 \
  --epochs_num 4 --steps_per_epoch 1600 --batch_size 128 --lr 0.0002 \
  --freeze_blocks 3 --backbone_lr_scale 0.3 --distill 1.0 --fixed_seed 17 --n_workers 15 \
  --val_each 1 --checkpoint_every 200 --keep_last 1 --no_progress --no_calibrate --use_cuda \
  --out /tmp/stage7 --logs /tmp/stage7/logs 2>&1 | tee "$out/train.log"
# The trainer writes last.safetensors with every checkpoint and when a signal stops it.
cp /tmp/stage7/last.safetensors "$out/"
tar czf "$out/logs.tgz" -C /tmp/stage7 logs
