#!/usr/bin/env bash
# Builds the harmless ScaleMalNet test programs as static x86-64 binaries, and
# the Windows ones (samples/windows/*.c) as PE programs with mingw-w64.
#
#   samples/build.sh OUTDIR
#
# Every samples/*.c is one program; OUTDIR/<name> is rebuilt when its source,
# this script or the compiler flags changed. Every samples/windows/*.c becomes
# OUTDIR/windows/<name>.exe (x86-64; runkey also as the i386 runkey32.exe,
# smnrun.c as the DLL smnrun.dll), plus OUTDIR/windows/truncated.exe (a PE
# cut after its headers) for bad-input tests, and the benign PE tools of
# fetch-benign-pe.sh in OUTDIR/windows/benign/. SAMPLES_NO_NPM=1 skips those.
# See samples/README.md.
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

# Windows programs (PE) for the Wine path.
WINCC64=${WINCC64:-x86_64-w64-mingw32-gcc}
WINCC32=${WINCC32:-i686-w64-mingw32-gcc}
for c in "$WINCC64" "$WINCC32"; do
  command -v "$c" >/dev/null || die "compiler '$c' not found (install mingw-w64: scripts/setup-host.sh)"
done
WINFLAGS=(-O2 -s -Wall -Wextra -Werror -std=gnu11)
WINLIBS=(-ladvapi32)
WINDIR=$OUTDIR/windows
mkdir -p "$WINDIR"
winsrcs=("$SCRIPT_DIR"/windows/*.c)
((${#winsrcs[@]})) || die "no sources in $SCRIPT_DIR/windows"

# wincc CC SRC OUT [FLAGS...]: builds OUT from SRC when out of date.
wbuilt=0
wincc() {
  local cc=$1 src=$2 out=$3
  shift 3
  if [[ -f $out && $out -nt $src && $out -nt $SCRIPT ]]; then
    return
  fi
  "$cc" "${WINFLAGS[@]}" "$@" -o "$out.tmp" "$src" "${WINLIBS[@]}" || die "compiling $(basename "$out") failed"
  mv -f "$out.tmp" "$out"
  wbuilt=$((wbuilt + 1))
}
for src in "${winsrcs[@]}"; do
  name=$(basename "$src" .c)
  if [[ $name == smnrun ]]; then
    wincc "$WINCC64" "$src" "$WINDIR/$name.dll" -shared
  else
    wincc "$WINCC64" "$src" "$WINDIR/$name.exe"
  fi
done
# The 32-bit path: one program built for i386 (needs wine32 in the guest).
wincc "$WINCC32" "$SCRIPT_DIR/windows/runkey.c" "$WINDIR/runkey32.exe"
# A truncated PE: runkey.exe's headers without its sections.
if [[ ! -f $WINDIR/truncated.exe || $WINDIR/truncated.exe -ot $WINDIR/runkey.exe ]]; then
  head -c 1024 "$WINDIR/runkey.exe" >"$WINDIR/truncated.exe"
  wbuilt=$((wbuilt + 1))
fi
log "$(find "$WINDIR" -maxdepth 1 -type f | wc -l) Windows programs in $WINDIR ($wbuilt rebuilt)"

if [[ ${SAMPLES_NO_NPM:-0} != 1 ]]; then
  "$SCRIPT_DIR/fetch-benign-pe.sh" "$WINDIR/benign"
fi
