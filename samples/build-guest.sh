#!/usr/bin/env bash
# Builds the test programs that need the guest's Debian root filesystem
# (samples/guest/): a dynamically linked x86-64 program, a dynamically
# linked i386 program, bash and python3 scripts, and an ARM ELF that the
# guest must refuse. See samples/README.md.
#
#   samples/build-guest.sh OUTDIR      (writes OUTDIR/guest/)
set -euo pipefail
export LC_ALL=C
log() { printf '[samples] %s\n' "$*" >&2; }
die() { printf '[samples] error: %s\n' "$*" >&2; exit 1; }
(($# == 1)) || die "usage: $0 OUTDIR"
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/guest" && pwd)
mkdir -p "$1/guest"
OUT=$(cd "$1/guest" && pwd)
CC=${CC:-gcc}
CFLAGS=(-O2 -Wall -Wextra -Werror -std=gnu11)

build() { # out src flags...
  local out=$1 src=$2
  shift 2
  [[ -f $out && $out -nt $src && $out -nt ${BASH_SOURCE[0]} ]] && return 0
  "$CC" "${CFLAGS[@]}" "$@" -o "$out.tmp" "$src" || die "compiling $(basename "$src") failed"
  mv -f "$out.tmp" "$out"
}
build "$OUT/dyn-hello" "$SRC/dyn-hello.c"
# i386 needs gcc-multilib (scripts/setup-host.sh); dynamically linked, so
# the guest's libc6:i386 runs it.
build "$OUT/i386-hello" "$SRC/i386-hello.c" -m32
install -m 0755 "$SRC/script.sh" "$OUT/script.sh"
install -m 0755 "$SRC/script.py" "$OUT/script.py"
# An ARM (armhf) ELF header with a PT_INTERP of /lib/ld-linux-armhf.so.3:
# no ARM cross-compiler is needed to check that the guest refuses it with
# its reason; the bytes after the headers are not code.
python3 - "$OUT/arm-hello" <<'PY'
import struct, sys
eh = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
eh += struct.pack("<HHIIIIIHHHHHH", 2, 40, 1, 0x10000 + 84, 52, 0, 0x5000400, 52, 32, 1, 40, 0, 0)
interp = b"/lib/ld-linux-armhf.so.3\0"
ph = struct.pack("<IIIIIIII", 3, 84, 0x10000 + 84, 0x10000 + 84, len(interp), len(interp), 4, 1)
open(sys.argv[1], "wb").write(eh + ph + interp + bytes(64))
PY
chmod 0755 "$OUT/arm-hello"
log "guest samples in $OUT"
