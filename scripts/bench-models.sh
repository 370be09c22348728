#!/usr/bin/env bash
# Inference benchmark of every classifier kind through its plugin
# subprocess, beside the same model in-process (cmd/scalemalnet
# BenchmarkModelPlugins). Trains one model file per kind into OUT first,
# quickly (--quick, no cross-validation): these files are for timing only,
# their accuracy means nothing; docs/results.md has the real figures.
#
#   scripts/bench-models.sh [OUT]       default build/bench-models
#   BENCHTIME=200x scripts/bench-models.sh
#
# Vector models on ClaMP Integrated, sequence models on FHIDS (the deep
# ones read the first 100/400 calls, the classical ones the n-grams),
# image models on a synthetic Malimg-layout set (classifiers/cmd/synthimages).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/bench-models}
BIN=${SCALEMALNET_BIN:-build/bin/scalemalnet}
DS=${SCALEMALNET_DATASETS:-$(cd .. && pwd)/shared/datasets}
BENCHTIME=${BENCHTIME:-200x}
[[ -x $BIN ]] || { echo "[bench] $BIN missing: run make build" >&2; exit 1; }
mkdir -p "$OUT"
IMAGES="$OUT/synthetic-images"
[[ -d $IMAGES ]] || go run ./classifiers/cmd/synthimages "$IMAGES"

RUNS=(
  "clamp dnn $DS/clamp/ClaMP_Integrated-5184.csv"
  "clamp logreg $DS/clamp/ClaMP_Integrated-5184.csv"
  "clamp naive-bayes $DS/clamp/ClaMP_Integrated-5184.csv"
  "clamp knn $DS/clamp/ClaMP_Integrated-5184.csv"
  "clamp decision-tree $DS/clamp/ClaMP_Integrated-5184.csv"
  "clamp random-forest $DS/clamp/ClaMP_Integrated-5184.csv"
  "clamp linear-svm $DS/clamp/ClaMP_Integrated-5184.csv"
  "fhids lstm $DS/fhids/fhids.tar.xz"
  "fhids cnn-lstm $DS/fhids/fhids.tar.xz"
  "fhids random-forest $DS/fhids/fhids.tar.xz"
  "fhids logreg $DS/fhids/fhids.tar.xz"
  "synth image-cnn $IMAGES"
  "synth image-cnn-lstm $IMAGES"
)
for r in "${RUNS[@]}"; do
  set -- $r
  f="$OUT/$1-$2.smnmodel"
  [[ -s $f ]] && continue
  echo "[bench] training $1-$2 (quick, for timing only)" >&2
  "$BIN" train --model "$2" --data "$3" --name "$1-$2" --folds 0 --quick --seed 1 --out "$f" > /dev/null 2> "$OUT/$1-$2.log" ||
    { cat "$OUT/$1-$2.log" >&2; exit 1; }
done
SCALEMALNET_MODELS=$(cd "$OUT" && pwd) go test ./cmd/scalemalnet -run '^$' -bench ModelPlugins -benchtime "$BENCHTIME"
