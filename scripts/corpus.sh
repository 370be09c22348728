#!/usr/bin/env bash
# Builds the sandbox-native corpus (docs/corpus.md): Atomic Red Team's Linux
# tests, the Debian userland manifest and the project's own samples, each
# run in a real VM of a private orchestrator, each trace kept with its
# label and group. Run by `make corpus` (which `make models` runs).
#
#   scripts/corpus.sh OUTDIR          (default build/corpus)
#   CORPUS_SLOTS=N                    VM slots (default: CPUs + 2, at least 4)
#   SCALEMALNET_DATASETS=DIR          datasets elsewhere
#
# The build resumes: an interrupted run keeps what finished, and a rerun
# only runs new or changed items. The traces are build outputs: never
# commit them (ADFA-LD's and FHIDS's licences do not apply here, but the
# corpus is regenerated, not distributed).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-build/corpus}
BIN=${SCALEMALNET_BIN:-build/bin/scalemalnet}
DS=${SCALEMALNET_DATASETS:-$(cd .. && pwd)/shared/datasets}
DATA=${CORPUS_DATA_DIR:-build/corpus-data}
ADDR=${CORPUS_ADDR:-127.0.0.1:7435}
SLOTS=${CORPUS_SLOTS:-$(( $(nproc) + 2 > 4 ? $(nproc) + 2 : 4 ))}
[[ -x $BIN ]] || { echo "[corpus] $BIN missing: run make build" >&2; exit 1; }
[[ -d $DS/atomic-red-team/atomics ]] || { echo "[corpus] $DS/atomic-red-team/atomics not found (set SCALEMALNET_DATASETS)" >&2; exit 1; }
[[ -f build/image/manifest.json ]] || { echo "[corpus] no guest image: run make image" >&2; exit 1; }
mkdir -p "$OUT" "$DATA" "$DATA/no-models"

export SCALEMALNET_ADDR=$ADDR SCALEMALNET_DATA_DIR=$DATA SCALEMALNET_SAMPLES_DIR=$(pwd)/build/samples
# A private orchestrator: Linux programs only (lazy Wine: faster cold
# boots), no models (the corpus needs traces, not verdicts).
echo "[corpus] starting an orchestrator with $SLOTS slots (log in $DATA/serve.log)" >&2
"$BIN" serve --data-dir "$DATA" --listen "$ADDR" --image build/image --slots "$SLOTS" --wine lazy \
  --models "$DATA/no-models" --fusion-model none >>"$DATA/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  "$BIN" health >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { tail -20 "$DATA/serve.log" >&2; echo "[corpus] orchestrator exited" >&2; exit 1; }
  sleep 0.2
done
"$BIN" corpus build --atomic "$DS/atomic-red-team/atomics" \
  --manifest classifiers/corpus/manifests/debian.yaml \
  --manifest classifiers/corpus/manifests/project.yaml \
  --out "$OUT" --parallel "$SLOTS" ${CORPUS_FLAGS:-}
"$BIN" corpus ls "$OUT"
