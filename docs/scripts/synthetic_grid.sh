#!/usr/bin/env bash
# The synthetic grid recorded in docs/results.md: every method of examples/utd_mhad.py on
# mmcontrast.data.make_synthetic (NOT UTD-MHAD), 3 seeds, multimodal evaluation at four label
# fractions and IMU-only evaluation with all labels. Short schedules (see EPOCHS below) to fit
# a shared 2-core CPU. Resumable: a run whose JSON file exists is skipped.
#
#   bash docs/scripts/synthetic_grid.sh              # writes docs/results/synthetic/*.json
#   python docs/scripts/plot_label_fractions.py docs/results/synthetic --table
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-docs/results/synthetic}
CACHE=${CACHE:-${TMPDIR:-/tmp}/mmcontrast-synthetic-grid}  # pre-trained encoders, reused
EPOCHS=10           # pre-training (the papers: 100)
TEACHER_EPOCHS=10   # CMKM's SimCLR teachers (the papers: 300)
FINETUNE_EPOCHS=30  # head, two-stage and supervised training (the papers: 100)

mkdir -p "$OUT"
for seed in 0 1 2; do
  for method in supervised simclr cmc debiased hnl cmkm clmm; do
    for run in "multimodal 1" "multimodal 0.5" "multimodal 0.25" "multimodal 0.05" "inertial 1"; do
      read -r evaluation fraction <<< "$run"
      out="$OUT/$method-$evaluation-$fraction-seed$seed.json"
      [ -f "$out" ] && continue
      "$PYTHON" examples/utd_mhad.py --data synthetic --method "$method" --eval "$evaluation" \
        --label-fraction "$fraction" --seed "$seed" --epochs "$EPOCHS" \
        --teacher-epochs "$TEACHER_EPOCHS" --finetune-epochs "$FINETUNE_EPOCHS" \
        --threads 1 --cache-dir "$CACHE" --quiet --out "$out"
    done
  done
done
