#!/usr/bin/env bash
# Builds the harmless ScaleMalNet test programs as static x86-64 binaries.
#
#   samples/build.sh OUTDIR
#
# Every samples/*.c is one program; OUTDIR/<name> is rebuilt when its source,
# this script or the compiler flags changed. See samples/README.md.
set -euo pipefail
export LC_ALL=C

log() { printf '[samples] %s\n' "$*" >&2; }
die() { printf '[samples] error: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: $0 OUTDIR"
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)

CC=${CC:-gcc}
command -v "$CC" >/dev/null || die "compiler '$CC' not found (install gcc and libc6-dev: scripts/setup-host.sh)"
CFLAGS=(-static -O2 -Wall -Wextra -Werror -std=gnu11)
LIBS=(-pthread)

shopt -s nullglob
srcs=("$SCRIPT_DIR"/*.c)
((${#srcs[@]})) || die "no sources in $SCRIPT_DIR"

built=0
for src in "${srcs[@]}"; do
  name=$(basename "$src" .c)
  out=$OUTDIR/$name
  if [[ -f $out && $out -nt $src && $out -nt $SCRIPT ]]; then
    continue
  fi
  "$CC" "${CFLAGS[@]}" -o "$out.tmp" "$src" "${LIBS[@]}" || die "compiling $name failed"
  mv -f "$out.tmp" "$out"
  built=$((built + 1))
done
log "${#srcs[@]} programs in $OUTDIR ($built rebuilt)"
