#!/usr/bin/env bash
# Trains the default models the orchestrator serves as classifiers, from the
# public datasets in ../shared/datasets (never copied into the project:
# models are build outputs), then the fusion model the orchestrator combines
# their votes with (fusion.json), fitted on the models' out-of-fold
# predictions from the cross-validation each training already runs (no
# extra training). Run by `make models`, which `make demo` runs.
#
#   scripts/models.sh OUTDIR        (default build/models)
#   FORCE=1 scripts/models.sh       retrain even if nothing changed
#   SCALEMALNET_DATASETS=DIR        datasets elsewhere
#   SCALEMALNET_BIN=PATH            another scalemalnet binary
#   CORPUS=DIR                      the sandbox-native corpus (default build/corpus,
#                                   made by make corpus); CORPUS=none leaves it out
#
# Training is deterministic (fixed seeds): the same binary and data give the
# same model files, so a stamp of both lets a rerun skip the work.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/models}
BIN=${SCALEMALNET_BIN:-build/bin/scalemalnet}
DS=${SCALEMALNET_DATASETS:-$(cd .. && pwd)/shared/datasets}
[[ -x $BIN ]] || { echo "[models] $BIN missing: run make build" >&2; exit 1; }
[[ -d $DS ]] || { echo "[models] datasets not found at $DS (set SCALEMALNET_DATASETS)" >&2; exit 1; }
CORPUS=${CORPUS:-build/corpus}
if [[ $CORPUS != none && ! -f $CORPUS/corpus.jsonl ]]; then
  echo "[models] no corpus at $CORPUS: run make corpus (or CORPUS=none for the public datasets only)" >&2
  exit 1
fi
mkdir -p "$OUT"

# name  model  data  [extra flags]
MODELS=(
  "clamp-integrated-dnn dnn $DS/clamp/ClaMP_Integrated-5184.csv"
  "fhids-random-forest random-forest $DS/fhids/fhids.tar.xz"
  "fhids-cnn-lstm cnn-lstm $DS/fhids/fhids.tar.xz --seq-len 200 --epochs 10 --folds 3"
  "malbehavd-random-forest random-forest $DS/malbehavd_v1/MalBehavD-V1-dataset.csv"
  "malapi-random-forest random-forest $DS/catak_mal_api_2019"
)
# The Linux detection models learn from the sandbox's own corpus (runs of
# Atomic Red Team tests and of the Debian userland in the guest, grouped by
# ATT&CK technique and program in cross-validation). The FHIDS detection
# models stay as classifiers but their fusion weights are fitted on their
# predictions on the corpus (they never trained on it), not on FHIDS: the
# fusion learns how much they tell about the sandbox's traces.
CORPUS_MODELS=()
if [[ $CORPUS != none ]]; then
  CORPUS_MODELS=(
    "corpus-random-forest random-forest $CORPUS"
    "corpus-args-random-forest random-forest $CORPUS --task corpus-args"
    "corpus-cnn-lstm cnn-lstm $CORPUS --seq-len 200 --epochs 10"
  )
  MODELS+=("${CORPUS_MODELS[@]}")
fi
# No Linux family model ships: FHIDS's attack kinds (Redis, Cryptomining,
# ...) are the attacks on its servers, not families of submitted programs,
# and the corpus is labelled by ATT&CK technique, not family (a reverse shell
# was named "Redis"). Stage 2 names Linux runs once a family-labelled
# corpus exists; `train --task fhids-kind` still trains the FHIDS model.
# Detection models whose fusion lines are their predictions on the corpus.
ON_CORPUS=(fhids-random-forest fhids-cnn-lstm)

# A dataset folder (Mal-API-2019) is stamped by its files.
stamp=$( { sha256sum "$BIN" scripts/models.sh; [[ $CORPUS == none ]] || sha256sum "$CORPUS/corpus.jsonl"; for m in "${MODELS[@]}"; do set -- $m; if [[ -d $3 ]]; then find "$3" -type f -print0 | sort -z | xargs -0 sha256sum; else sha256sum "$3"; fi; done; } | sha256sum | cut -d' ' -f1)
if [[ -z ${FORCE:-} && -f $OUT/.stamp && -f $OUT/fusion.json && $(cat "$OUT/.stamp") == "$stamp" ]]; then
  echo "[models] models up to date in $OUT"
  exit 0
fi
# Fusion of the default models' votes: soft voting (weights learnt on the
# out-of-fold predictions, Platt-calibrated per classifier), threshold for a
# validation false-positive rate of at most 1%. Soft voting rather than
# stacking: the models come from different datasets (ClaMP, FHIDS,
# MalBehavD-V1; Mal-API-2019's malware types weigh its family model only), so a
# stacking model's missing-vote indicators would learn each dataset's
# malware share, not anything about samples; an FPR budget rather than max
# F1: F1 depends on the malware share of the pooled datasets, an FPR budget
# only on benign behaviour. Operators re-choose it without refitting
# (daemon FusionConfig, fusion.Model.WithThreshold).
FUSION=(--method soft-vote --calibration platt --rule fpr --target-fpr 0.01)

rm -f "$OUT"/*.smnmodel "$OUT/models.json" "$OUT"/*.oof.jsonl "$OUT"/*.corpus.jsonl "$OUT/fusion.json" "$OUT/.stamp"
for m in "${MODELS[@]}"; do
  set -- $m
  name=$1 model=$2 data=$3
  shift 3
  echo "[models] training $name ($model on $(basename "$data"))" >&2
  start=$(date +%s)
  "$BIN" train --model "$model" --data "$data" --name "$name" --seed 1 --folds 5 --out "$OUT/$name.smnmodel" \
    --oof "$OUT/$name.oof.jsonl" "$@" > "$OUT/$name.cv.txt"
  echo "[models]   done in $(( $(date +%s) - start )) s; cross-validation in $OUT/$name.cv.txt" >&2
done
oofs=()
if [[ $CORPUS != none ]]; then
  # The behaviour signatures vote too: their votes on the corpus. The rules
  # are not fitted to it (written from ATT&CK and the project's samples;
  # login-bruteforce and account-files-appended with the project's
  # imitations in view, docs/signatures.md), so these stand in for held-out
  # predictions, except on those imitations.
  "$BIN" signatures eval --corpus "$CORPUS" --predictions "$OUT/behavior-signatures.corpus.jsonl" > "$OUT/behavior-signatures.corpus.txt"
  oofs+=(--oof "$OUT/behavior-signatures.corpus.jsonl")
fi
for m in "${MODELS[@]}"; do
  set -- $m
  if [[ $CORPUS != none && " ${ON_CORPUS[*]} " == *" $1 "* ]]; then
    "$BIN" eval --model "$OUT/$1.smnmodel" --data "$CORPUS" --predictions "$OUT/$1.corpus.jsonl" > "$OUT/$1.corpus.txt"
    oofs+=(--oof "$OUT/$1.corpus.jsonl")
    continue
  fi
  oofs+=(--oof "$OUT/$1.oof.jsonl")
done
echo "[models] fitting the fusion model on the out-of-fold predictions" >&2
"$BIN" train fusion "${oofs[@]}" "${FUSION[@]}" --out "$OUT/fusion.json" > "$OUT/fusion.txt" 2>&1 ||
  { cat "$OUT/fusion.txt" >&2; exit 1; }
echo "[models]   fusion model in $OUT/fusion.json; summary in $OUT/fusion.txt" >&2
if [[ $CORPUS != none ]]; then
  # The corpus's records only: every Linux detector and the fusion, five
  # folds keeping each technique and program whole, per technique.
  coofs=()
  for m in "${CORPUS_MODELS[@]}"; do set -- $m; coofs+=(--data "$OUT/$1.oof.jsonl"); done
  for n in "${ON_CORPUS[@]}" behavior-signatures; do coofs+=(--data "$OUT/$n.corpus.jsonl"); done
  "$BIN" eval fusion "${coofs[@]}" "${FUSION[@]:2}" --methods soft-vote,stacking --corpus "$CORPUS" --decisive critical --markdown > "$OUT/corpus-eval.md"
  echo "[models]   on the corpus (grouped cross-validation, per technique): $OUT/corpus-eval.md" >&2
fi
echo "$stamp" > "$OUT/.stamp"
