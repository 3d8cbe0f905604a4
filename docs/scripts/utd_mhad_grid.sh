#!/usr/bin/env bash
# The grid of docs/results.md: every method of examples/utd_mhad.py, seeds 0, 1, 2, the
# multimodal evaluation at four label fractions and the IMU-only evaluation with all labels.
#
#   bash docs/scripts/utd_mhad_grid.sh synthetic        # what docs/results.md records
#   bash docs/scripts/utd_mhad_grid.sh utd-mhad PATH    # the reproduction (needs the data)
#   python docs/scripts/plot_label_fractions.py docs/results/<synthetic|utd_mhad> --table
#
# "synthetic" runs on mmcontrast.data.make_synthetic (NOT UTD-MHAD) with short schedules that
# fit a shared 2-core CPU, one thread per run; "utd-mhad" uses the papers' schedules (the
# command line's defaults). EPOCHS, TEACHER_EPOCHS, FINETUNE_EPOCHS, THREADS, SEEDS, OUT and
# CACHE override them. Resumable: a run whose JSON file exists is skipped.
set -euo pipefail
cd "$(dirname "$0")/../.."

mode=${1:?usage: utd_mhad_grid.sh synthetic | utd-mhad PATH}
case "$mode" in
  synthetic)
    data=(--data synthetic)
    : "${EPOCHS:=10}" "${TEACHER_EPOCHS:=10}" "${FINETUNE_EPOCHS:=30}" "${THREADS:=1}"
    : "${OUT:=docs/results/synthetic}" ;;
  utd-mhad)
    data=(--root "${2:?the UTD-MHAD folder (with Inertial/ and Skeleton/)}")
    : "${EPOCHS:=100}" "${TEACHER_EPOCHS:=300}" "${FINETUNE_EPOCHS:=100}"
    : "${OUT:=docs/results/utd_mhad}" ;;
  *) echo "usage: utd_mhad_grid.sh synthetic | utd-mhad PATH" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-.venv/bin/python}
CACHE=${CACHE:-${TMPDIR:-/tmp}/mmcontrast-$mode-grid}  # pre-trained encoders, reused
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")

mkdir -p "$OUT"
for seed in ${SEEDS:-0 1 2}; do
  for method in supervised simclr cmc debiased hnl cmkm clmm; do
    for run in "multimodal 1" "multimodal 0.5" "multimodal 0.25" "multimodal 0.05" "inertial 1"; do
      read -r evaluation fraction <<< "$run"
      out="$OUT/$method-$evaluation-$fraction-seed$seed.json"
      [ -f "$out" ] && continue
      "$PYTHON" examples/utd_mhad.py "${data[@]}" --method "$method" --eval "$evaluation" \
        --label-fraction "$fraction" --seed "$seed" --epochs "$EPOCHS" \
        --teacher-epochs "$TEACHER_EPOCHS" --finetune-epochs "$FINETUNE_EPOCHS" \
        "${threads[@]}" --cache-dir "$CACHE" --quiet --out "$out"
    done
  done
done
