#!/usr/bin/env bash
# The grid of docs/results.md: every method of examples/utd_mhad.py, seeds 0, 1, 2; the
# multimodal, IMU-only and skeleton-only evaluations with all labels, and the multimodal and
# IMU-only evaluations with 5, 10, 25 and 50 % of the labels; every pre-trained method under
# each evaluation pipeline of PIPELINES (the supervised baseline has no pipeline: it trains
# the same encoders from scratch).
#
#   bash docs/scripts/utd_mhad_grid.sh utd-mhad PATH    # the real data (writes docs/results/utd-mhad)
#   bash docs/scripts/utd_mhad_grid.sh synthetic        # make_synthetic, short schedules
#   python docs/scripts/plot_label_fractions.py docs/results/<utd-mhad|synthetic> --table
#
# "synthetic" runs on mmcontrast.data.make_synthetic (NOT UTD-MHAD) with short schedules that
# fit a shared 2-core CPU, one thread per run; "utd-mhad" uses the papers' schedules (the
# command line's defaults). EPOCHS, TEACHER_EPOCHS, FINETUNE_EPOCHS, THREADS, SEEDS, METHODS,
# PIPELINES, EXTRA (more options for every run, e.g. --no-fast), OUT and CACHE
# override them. HEADS (default "concat late") picks the classifiers of the multimodal runs
# of the frozen, finetune and supervised pipelines (`--head`; the late-fusion files are named
# METHOD-PIPELINE-late-...); with one modality the two heads are the same, and clmm and the
# probe have their own, so those runs are made once. TAG (e.g. -tau0.3) follows the method in
# the file names, so that runs with other EXTRA options can share a folder. Resumable: a run
# whose JSON file exists is skipped. Pre-trained encoders are cached (keyed by their whole
# configuration), so each method and seed pre-trains once.
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
    : "${OUT:=docs/results/utd-mhad}" ;;
  *) echo "usage: utd_mhad_grid.sh synthetic | utd-mhad PATH" >&2; exit 2 ;;
esac
PYTHON=${PYTHON:-.venv/bin/python}
CACHE=${CACHE:-${TMPDIR:-/tmp}/mmcontrast-$mode-grid}  # pre-trained encoders, reused
threads=()
[ -n "${THREADS:-}" ] && threads=(--threads "$THREADS")
read -r -a extra <<< "${EXTRA:-}"

runs=("multimodal 1" "inertial 1" "skeleton 1")
for fraction in 0.5 0.25 0.1 0.05; do
  runs+=("multimodal $fraction" "inertial $fraction")
done

mkdir -p "$OUT"
for seed in ${SEEDS:-0 1 2}; do
  for method in ${METHODS:-supervised simclr cmc debiased hnl cmkm clmm}; do
    pipelines=${PIPELINES:-frozen finetune}
    [ "$method" = supervised ] && pipelines=supervised
    for pipeline in $pipelines; do
      for run in "${runs[@]}"; do
        read -r evaluation fraction <<< "$run"
        heads=-  # the command line's own classifier
        if [ "$evaluation" = multimodal ] && [ "$method" != clmm ] && [ "$pipeline" != probe ]; then
          heads=${HEADS:-concat late}
        fi
        for head in $heads; do
          name=$pipeline
          [ "$head" = late ] && name=$pipeline-late
          out="$OUT/$method${TAG:-}-$name-$evaluation-$fraction-seed$seed.json"
          [ -f "$out" ] && continue
          options=(--method "$method" --eval "$evaluation" --label-fraction "$fraction")
          [ "$pipeline" != supervised ] && options+=(--pipeline "$pipeline")
          [ "$head" != - ] && options+=(--head "$head")
          "$PYTHON" examples/utd_mhad.py "${data[@]}" "${options[@]}" --seed "$seed" \
            --epochs "$EPOCHS" --teacher-epochs "$TEACHER_EPOCHS" \
            --finetune-epochs "$FINETUNE_EPOCHS" "${extra[@]}" "${threads[@]}" \
            --cache-dir "$CACHE" --quiet --out "$out"
        done
      done
    done
  done
done
