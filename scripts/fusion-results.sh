#!/usr/bin/env bash
# Fusion results (docs/results-fusion.md): out-of-fold predictions of
# several classifiers per modality, then `scalemalnet eval fusion` over each
# modality's classifiers.
#
#   scripts/fusion-results.sh [OUT]      (default build/fusion-results)
#   SCALEMALNET_DATASETS=DIR             datasets elsewhere
#   SCALEMALNET_BIN=PATH                 another scalemalnet binary
#   MODELS_DIR=DIR                       where `make models` left its OOF files (default build/models)
#   SKIP_DEEP=1                          classical models only
#
# Protocol: each dataset is deduplicated, then every base model is
# cross-validated by stratified 5-fold CV with seed 1 (`train --oof`): the
# prediction recorded for an example comes from the fold model that held it
# out. `eval fusion` then runs a second, stratified 5-fold split (seed 1)
# over those out-of-fold records: calibration, fusion weights and the
# threshold are fitted on four folds and measured on the fifth. Nothing is
# measured on data it was fitted on. An OOF file already present is reused
# (delete it to retrain); the evaluations always rerun (seconds).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/fusion-results}
BIN=${SCALEMALNET_BIN:-build/bin/scalemalnet}
DS=${SCALEMALNET_DATASETS:-$(cd .. && pwd)/shared/datasets}
MODELS_DIR=${MODELS_DIR:-build/models}
[[ -x $BIN ]] || { echo "[fusion] $BIN missing: run make build" >&2; exit 1; }
[[ -d $DS ]] || { echo "[fusion] datasets not found at $DS (set SCALEMALNET_DATASETS)" >&2; exit 1; }
mkdir -p "$OUT"

MB=$DS/malbehavd_v1/MalBehavD-V1-dataset.csv
CLAMP=$DS/clamp/ClaMP_Integrated-5184.csv
FHIDS=$DS/fhids/fhids.tar.xz

# modality  file-name  model  data  [extra train flags]
RUNS=(
  "malbehavd malbehavd-random-forest random-forest $MB"
  "malbehavd malbehavd-logreg logreg $MB"
  "malbehavd malbehavd-naive-bayes naive-bayes $MB"
  "clamp clamp-integrated-dnn dnn $CLAMP"
  "clamp clamp-integrated-random-forest random-forest $CLAMP"
  "clamp clamp-integrated-logreg logreg $CLAMP"
  "clamp clamp-integrated-naive-bayes naive-bayes $CLAMP"
  "clamp clamp-integrated-knn knn $CLAMP"
  "fhids fhids-logreg logreg $FHIDS"
)
if [[ -z ${SKIP_DEEP:-} ]]; then
  RUNS+=(
    "malbehavd malbehavd-lstm lstm $MB --epochs 15"
    "malbehavd malbehavd-cnn-lstm cnn-lstm $MB --epochs 8"
  )
fi
# FHIDS random forest and CNN-LSTM: the default models' OOF (scripts/models.sh,
# same protocol; the CNN-LSTM there is 3-fold, 10 epochs, 200 calls), copied
# here so the results do not change when the models are retrained; trained
# here with the same flags when absent.
RUNS+=(
  "fhids fhids-random-forest random-forest $FHIDS"
  "fhids fhids-cnn-lstm cnn-lstm $FHIDS --seq-len 200 --epochs 10 --folds 3"
)

: > "$OUT/times.tsv.new"
for r in "${RUNS[@]}"; do
  set -- $r
  mod=$1 name=$2 model=$3 data=$4
  shift 4
  oof=$OUT/$name.oof.jsonl
  if [[ ! -s $oof && $mod == fhids && -s $MODELS_DIR/$name.oof.jsonl && -s $MODELS_DIR/.stamp ]]; then
    cp "$MODELS_DIR/$name.oof.jsonl" "$oof"
    echo "[fusion] $name: OOF of the default model in $MODELS_DIR" >&2
  fi
  if [[ -s $oof ]]; then
    grep -P "^$name\t" "$OUT/times.tsv" 2>/dev/null >> "$OUT/times.tsv.new" || true
    continue
  fi
  echo "[fusion] training $name ($model on $(basename "$data")) ..." >&2
  start=$(date +%s)
  # --folds comes first so a run's own --folds (the FHIDS CNN-LSTM's 3) wins.
  if ! "$BIN" train --folds 5 --model "$model" --data "$data" --name "$name" --seed 1 \
    --out "$OUT/$name.smnmodel" --oof "$oof.tmp" "$@" > "$OUT/$name.cv.txt" 2> "$OUT/$name.log"; then
    echo "[fusion]   FAILED after $(( $(date +%s) - start )) s (see $OUT/$name.log); left out of the evaluations" >&2
    rm -f "$oof.tmp"
    continue
  fi
  mv "$oof.tmp" "$oof"
  secs=$(( $(date +%s) - start ))
  printf '%s\t%s\t%s\n' "$name" "$secs" "$*" >> "$OUT/times.tsv.new"
  echo "[fusion]   done in $secs s" >&2
done
mv "$OUT/times.tsv.new" "$OUT/times.tsv"

for mod in malbehavd clamp fhids; do
  args=()
  for r in "${RUNS[@]}"; do
    set -- $r
    [[ $1 == "$mod" && -s $OUT/$2.oof.jsonl ]] && args+=(--data "$OUT/$2.oof.jsonl")
  done
  for rule in f1 fpr; do
    extra=()
    [[ $rule == fpr ]] && extra=(--target-fpr 0.01)
    echo "[fusion] eval fusion on $mod, rule $rule" >&2
    "$BIN" eval fusion "${args[@]}" --folds 5 --seed 1 --rule "$rule" "${extra[@]}" > "$OUT/$mod-$rule.txt"
    "$BIN" eval fusion "${args[@]}" --folds 5 --seed 1 --rule "$rule" "${extra[@]}" --json > "$OUT/$mod-$rule.json"
    "$BIN" eval fusion "${args[@]}" --folds 5 --seed 1 --rule "$rule" "${extra[@]}" --markdown > "$OUT/$mod-$rule.md"
  done
done
# Cross-modality, to show what disjoint records do: ClaMP static and FHIDS
# dynamic OOF together (no example has votes from both).
args=()
for r in "${RUNS[@]}"; do
  set -- $r
  [[ ($1 == clamp || $1 == fhids) && -s $OUT/$2.oof.jsonl ]] && args+=(--data "$OUT/$2.oof.jsonl")
done
"$BIN" eval fusion "${args[@]}" --folds 5 --seed 1 --rule fpr --target-fpr 0.01 > "$OUT/clamp+fhids-fpr.txt"
echo "[fusion] results in $OUT/*.txt" >&2
