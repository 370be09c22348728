#!/usr/bin/env bash
# Measures the orchestrator's throughput: N jobs of a sample that runs for
# its whole timeout (test-hang), through `serve --slots SLOTS`, from the
# first submission to the last job done. Prints jobs per hour beside the
# limit SLOTS*3600/(timeout+overhead) for the VM part alone.
#
#   scripts/throughput.sh [BIN]        default build/bin/scalemalnet
#   JOBS=8 SLOTS=2 TIMEOUT=10 DATA=DIR ADDR=127.0.0.1:7611 scripts/throughput.sh BIN
#
# Run one instance at a time: two at once share the cores and halve both.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-build/bin/scalemalnet}
JOBS=${JOBS:-8}
SLOTS=${SLOTS:-2}
TIMEOUT=${TIMEOUT:-10}
DATA=${DATA:-$(mktemp -d /tmp/smn-throughput.XXXXXX)}
ADDR=${ADDR:-127.0.0.1:7611}
SAMPLE=${SAMPLE:-build/samples/test-hang}
export SCALEMALNET_ADDR=$ADDR SCALEMALNET_DATA_DIR=$DATA
mkdir -p "$DATA"

"$BIN" serve --data-dir "$DATA" --listen "$ADDR" --image build/image --slots "$SLOTS" \
  --models "$DATA/no-models" >>"$DATA/serve.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
# Wait until every slot has its clean state (cold boots are not measured).
for _ in $(seq 1 900); do
  idle=$("$BIN" health --json 2>/dev/null | sed -n 's/.*"slots_idle": *\([0-9]*\).*/\1/p' || true)
  [[ ${idle:-0} -ge $SLOTS ]] && break
  kill -0 $pid 2>/dev/null || { tail -20 "$DATA/serve.log"; exit 1; }
  sleep 1
done
t0=$(date +%s.%N)
for _ in $(seq 1 "$JOBS"); do
  "$BIN" submit "$SAMPLE" --timeout "${TIMEOUT}s" --window 1s >/dev/null
done
count() { "$BIN" jobs --state "$1" --json --limit 1000 | grep -c '"id"' || true; }
while :; do
  finished=$(( $(count done) + $(count failed) ))
  [[ $finished -ge $JOBS ]] && break
  sleep 0.5
done
t1=$(date +%s.%N)
done_=$(count done)
awk -v n="$JOBS" -v d="$done_" -v a="$t0" -v b="$t1" -v s="$SLOTS" -v w="$TIMEOUT" 'BEGIN {
  e = b - a
  printf "jobs=%d done=%d elapsed=%.1fs throughput=%.0f jobs/h\n", n, d, e, n * 3600 / e
  printf "limit with zero overhead: %d*3600/%d = %.0f jobs/h; overhead per job implied: %.1fs\n", s, w, s * 3600 / w, s * e / n - w
}'
