#!/usr/bin/env bash
# Parity and speed of the Go PE header extractor (featurizers/header)
# against pefile, on every PE file the wine and mingw-w64 packages install.
#
#   scripts/pefile-parity.sh          column-by-column parity report
#   scripts/pefile-parity.sh --bench  files/s of pefile and of the Go
#                                     extractor on the same files, and the ratio
#
# Needs: apt-get install -y --no-install-recommends wine64 mingw-w64 python3-pefile
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
PY=/usr/bin/python3
if ! "$PY" -c 'import pefile' 2>/dev/null; then
	echo "python3-pefile missing: apt-get install -y --no-install-recommends python3-pefile" >&2
	exit 1
fi

if [[ "${1:-}" != "--bench" ]]; then
	exec go test ./featurizers/header -run '^TestPefileParity$' -count=1 -v -timeout 20m
fi

echo "== pefile (one process; parse + all columns, file read included)"
py_json=$("$PY" scripts/pefile-parity.py --bench)
echo "$py_json"
echo "== Go (one goroutine; parse + all columns, file read included)"
go_out=$(go test ./featurizers/header -run '^$' -bench '^BenchmarkClaMPExtract$' -benchtime 3x -count 1 -cpu 1)
echo "$go_out" | grep -E 'Benchmark|files/s' || true
"$PY" - "$py_json" "$go_out" <<'PYEOF'
import json, re, sys
py = json.loads(sys.argv[1])
m = re.search(r"([0-9.e+]+) files/s", sys.argv[2])
if not m:
    sys.exit("no files/s figure in the Go benchmark output")
go = float(m.group(1))
print("%-28s %10s" % ("extractor", "files/s"))
print("%-28s %10.1f" % (py["tool"], py["files_per_sec"]))
print("%-28s %10.1f" % ("Go featurizers/header", go))
print("ratio Go/pefile: %.1fx on %d files (%.0f MB)" % (go / py["files_per_sec"], py["files"], py["bytes"] / 1e6))
PYEOF
