#!/usr/bin/env bash
# Cross-validates models on the public datasets and writes one JSON report per
# (model, dataset) to OUT (default build/results); docs/results.md is made
# from them with `go run ./classifiers/cmd/resultsmd build/results`.
#
#   scripts/results.sh [OUT] [FILTER]     FILTER: a regexp over "model dataset"
#   JOBS=2 scripts/results.sh             runs in parallel (default 1)
#
# Protocol (classifiers/train): deduplicate, stratified 5-fold CV, seed 1,
# encoders fitted on each training fold only, documented default
# hyperparameters, deep models at most EPOCHS epochs with early stopping on
# a split of the training fold.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/results}
FILTER=${2:-.}
BIN=build/bin/scalemalnet
DS=${SCALEMALNET_DATASETS:-$(cd .. && pwd)/shared/datasets}
EPOCHS=${EPOCHS:-15}
JOBS=${JOBS:-1}
mkdir -p "$OUT"

RUNS=()
for m in dnn; do
  RUNS+=("$m clamp-raw $DS/clamp/ClaMP_Raw-5184.csv" "$m clamp-integrated $DS/clamp/ClaMP_Integrated-5184.csv")
done
for m in lstm cnn-lstm; do
  RUNS+=("$m malbehavd $DS/malbehavd_v1/MalBehavD-V1-dataset.csv"
         "$m malapi $DS/catak_mal_api_2019"
         "$m fhids $DS/fhids/fhids.tar.xz"
         "$m fhids-kind $DS/fhids/fhids.tar.xz --task fhids-kind"
         "$m adfa $DS/adfa-ld"
         "$m adfa-kind $DS/adfa-ld --task adfa-kind")
done

run() {
  set -- $1
  local model=$1 name=$2 data=$3
  shift 3
  local out="$OUT/$model--$name.json"
  [[ -s $out ]] && { echo "[results] $model on $name: already in $out" >&2; return 0; }
  echo "[results] $model on $name ..." >&2
  local start=$(date +%s)
  if "$BIN" train --model "$model" --data "$data" --seed 1 --folds 5 --epochs "$EPOCHS" --json \
       --out "$OUT/$model--$name.smnmodel" "$@" > "$out.tmp" 2> "$OUT/$model--$name.log"; then
    mv "$out.tmp" "$out"
    echo "[results] $model on $name: done in $(( $(date +%s) - start )) s" >&2
  else
    echo "[results] $model on $name: FAILED (see $OUT/$model--$name.log)" >&2
    rm -f "$out.tmp"
  fi
}
export -f run
export OUT BIN EPOCHS
printf '%s\n' "${RUNS[@]}" | grep -E -- "$FILTER" | xargs -P "$JOBS" -I{} bash -c 'run "$@"' _ {}
