#!/usr/bin/env bash
# Regenerates docs/results.md from build/results (scripts/results.sh) and the
# classical baselines table (docs/results-classical.md).
set -euo pipefail
cd "$(dirname "$0")/.."
RES=${1:-build/results}
{
  sed -n '1,/^<!-- deep table -->$/p' docs/results.md
  go run ./classifiers/cmd/resultsmd "$RES"
  sed -n '/^<!-- end deep table -->$/,$p' docs/results.md
} > docs/results.md.tmp
mv docs/results.md.tmp docs/results.md
