#!/usr/bin/env bash
# Trains the default models the orchestrator serves as classifiers, from the
# public datasets in ../shared/datasets (never copied into the project:
# models are build outputs). Run by `make models`, which `make demo` runs.
#
#   scripts/models.sh OUTDIR        (default build/models)
#   FORCE=1 scripts/models.sh       retrain even if nothing changed
#   SCALEMALNET_DATASETS=DIR        datasets elsewhere
#
# Training is deterministic (fixed seeds): the same binary and data give the
# same model files, so a stamp of both lets a rerun skip the work.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/models}
BIN=build/bin/scalemalnet
DS=${SCALEMALNET_DATASETS:-$(cd .. && pwd)/shared/datasets}
[[ -x $BIN ]] || { echo "[models] $BIN missing: run make build" >&2; exit 1; }
[[ -d $DS ]] || { echo "[models] datasets not found at $DS (set SCALEMALNET_DATASETS)" >&2; exit 1; }
mkdir -p "$OUT"

# name  model  data  [extra flags]
MODELS=(
  "clamp-integrated-dnn dnn $DS/clamp/ClaMP_Integrated-5184.csv"
  "fhids-random-forest random-forest $DS/fhids/fhids.tar.xz"
  "fhids-cnn-lstm cnn-lstm $DS/fhids/fhids.tar.xz --seq-len 200 --epochs 10 --folds 3"
  "fhids-kind-random-forest random-forest $DS/fhids/fhids.tar.xz --task fhids-kind"
)

stamp=$( { sha256sum "$BIN" scripts/models.sh; for m in "${MODELS[@]}"; do set -- $m; sha256sum "$3"; done; } | sha256sum | cut -d' ' -f1)
if [[ -z ${FORCE:-} && -f $OUT/.stamp && $(cat "$OUT/.stamp") == "$stamp" ]]; then
  echo "[models] models up to date in $OUT"
  exit 0
fi
rm -f "$OUT"/*.smnmodel "$OUT/.stamp"
for m in "${MODELS[@]}"; do
  set -- $m
  name=$1 model=$2 data=$3
  shift 3
  echo "[models] training $name ($model on $(basename "$data"))" >&2
  start=$(date +%s)
  "$BIN" train --model "$model" --data "$data" --name "$name" --seed 1 --folds 5 --out "$OUT/$name.smnmodel" "$@" \
    > "$OUT/$name.cv.txt"
  echo "[models]   done in $(( $(date +%s) - start )) s; cross-validation in $OUT/$name.cv.txt" >&2
done
echo "$stamp" > "$OUT/.stamp"
