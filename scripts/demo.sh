#!/usr/bin/env bash
# Runs the orchestrator with its defaults, analyses each bundled sample
# program in a real VM and prints what it did. Called by `make demo` after the
# host, the binary, the guest image and the samples are built.
#
#   KEEP=1 make demo    leave the orchestrator running afterwards
#   DEMO_SAMPLES="fork-exec test-miner" make demo   analyse only these
set -euo pipefail
cd "$(dirname "$0")/.."

BIN=build/bin/scalemalnet
DATA=${SCALEMALNET_DATA_DIR:-build/demo-data}
ADDR=${SCALEMALNET_ADDR:-127.0.0.1:7433}
# Linux programs (static ones, then what needs the Debian guest: a
# dynamically linked and an i386 program, a python3 script) and Windows
# programs under Wine (two behaviour imitations and a benign npm tool).
SAMPLES=${DEMO_SAMPLES:-benign-reader fork-exec test-adduser test-bruteforce test-revshell test-miner guest/dyn-hello guest/i386-hello guest/script.py windows/runkey.exe windows/ransom.exe windows/benign/7za.exe}
export SCALEMALNET_ADDR=$ADDR SCALEMALNET_DATA_DIR=$DATA
mkdir -p "$DATA"

log() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# The example external plugin, registered with its SHA-256 like any
# third-party plugin (docs/plugins.md).
mkdir -p "$DATA/plugins"
install -m 0755 build/plugins/syscall-heuristic "$DATA/plugins/syscall-heuristic"
$BIN plugins register "$DATA/plugins/syscall-heuristic" --dir "$DATA/plugins" >/dev/null
# The YARA featurizer (docs/signatures.md): a separate process, so a libyara
# crash costs only its vote.
install -m 0755 build/plugins/yara "$DATA/plugins/yara"
$BIN plugins register "$DATA/plugins/yara" --dir "$DATA/plugins" >/dev/null

started=
if $BIN jobs --limit 1 >/dev/null 2>&1; then
  log "using the orchestrator already running at $ADDR"
else
  log "starting the orchestrator (data in $DATA, API on $ADDR, log in $DATA/serve.log)"
  $BIN serve --data-dir "$DATA" --listen "$ADDR" --image build/image >>"$DATA/serve.log" 2>&1 &
  echo $! >"$DATA/serve.pid"
  started=$!
  for _ in $(seq 1 150); do
    $BIN jobs --limit 1 >/dev/null 2>&1 && break
    kill -0 "$started" 2>/dev/null || { tail -20 "$DATA/serve.log"; echo "orchestrator exited" >&2; exit 1; }
    sleep 0.2
  done
fi
stop() {
  if [[ -n $started && -z ${KEEP:-} ]]; then
    kill "$started" 2>/dev/null || true
    wait "$started" 2>/dev/null || true
  fi
}
trap stop EXIT

t0=$(date +%s)
failed=0
for s in $SAMPLES; do
  log "analysing $s"
  extra=(--timeout 20s)
  case $s in
    *.exe|*.dll) extra=(--timeout 60s) ;; # Wine under TCG starts slowly
  esac
  [[ $s == */7za.exe ]] && extra+=(--arg i)
  if ! $BIN submit "build/samples/$s" "${extra[@]}" --window 1s --wait; then
    failed=$((failed + 1))
  fi
done
log "analysed $(wc -w <<<"$SAMPLES") samples in $(( $(date +%s) - t0 )) s; $failed failed"
$BIN jobs --limit 20
if [[ -n $started && -n ${KEEP:-} ]]; then
  echo "orchestrator still running (pid $started, stop with: kill \$(cat $DATA/serve.pid))"
fi
exit $((failed > 0))
