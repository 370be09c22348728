#!/usr/bin/env bash
# Fetches Windows builds of well-known command-line tools that no one here
# wrote, from npm at pinned versions, as benign PE samples:
#
#   samples/fetch-benign-pe.sh OUTDIR     -> OUTDIR/esbuild.exe, OUTDIR/7za.exe, OUTDIR/7za32.exe
#
# Each package tarball and each extracted program is checked against the
# SHA-256 recorded below; a program already in OUTDIR with the right hash is
# kept (a rerun is instant). Needs npm and the npm registry. The binaries are
# never committed. See samples/README.md.
set -euo pipefail
export LC_ALL=C

log() { printf '[benign-pe] %s\n' "$*" >&2; }
die() { printf '[benign-pe] error: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: $0 OUTDIR"
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)

# esbuild is pinned to 0.21.5, built with Go 1.20: esbuild 0.24 and later are
# built with Go 1.23, whose Windows runtime needs bcryptprimitives.dll
# (ProcessPrng), which Debian 12's Wine 8.0 lacks ("fatal error:
# bcryptprimitives.dll not found", exit 2).
# name | npm package@version | tarball sha256 | path in the tarball | program sha256
PROGRAMS=(
  "esbuild.exe|@esbuild/win32-x64@0.21.5|a0a749db5cf2f00bbfdcd0e47c30dc6d7b6817191ae009ff46d48fc75133c888|package/esbuild.exe|b868c8d988ffe76006c03c91f856312c312e42e2f3932a6bb56d7f4a1790c8b3"
  "7za.exe|7zip-bin@5.2.0|04f9738ee00be8be53f5d06254a9e6e4b5117b17f8b74058477d870e62764a7d|package/win/x64/7za.exe|b0cfdeaf429f5cc53f85123dd8f5a5feb92c19d31aa34df257edf9a26be05f95"
  "7za32.exe|7zip-bin@5.2.0|04f9738ee00be8be53f5d06254a9e6e4b5117b17f8b74058477d870e62764a7d|package/win/ia32/7za.exe|31fd52f8996986623cf52c3b4d0f7ac74a9dec63fc16c902cef673eed550c435"
)

sha() { sha256sum "$1" | cut -d' ' -f1; }

CACHE=$OUTDIR/.npm-cache
fetched=0
for entry in "${PROGRAMS[@]}"; do
  IFS='|' read -r name pkg tgzsum member sum <<<"$entry"
  out=$OUTDIR/$name
  if [[ -f $out && $(sha "$out") == "$sum" ]]; then
    continue
  fi
  mkdir -p "$CACHE"
  tgz=$(find "$CACHE" -maxdepth 1 -name '*.tgz' -print0 | xargs -0 -r sha256sum | awk -v s="$tgzsum" '$1 == s {print $2; exit}')
  if [[ -z $tgz ]]; then
    command -v npm >/dev/null || die "npm not found (apt-get install npm) and $name is not cached"
    log "npm pack $pkg"
    tgzname=$(cd "$CACHE" && npm pack --silent "$pkg" 2>/dev/null | tail -1) || die "npm pack $pkg failed"
    tgz=$CACHE/$tgzname
    [[ -f $tgz ]] || die "npm pack $pkg gave no tarball"
    got=$(sha "$tgz")
    [[ $got == "$tgzsum" ]] || { rm -f "$tgz"; die "$pkg: tarball sha256 $got, want $tgzsum"; }
  fi
  tar -xzf "$tgz" -O "$member" >"$out.tmp" || die "$member not in $pkg"
  got=$(sha "$out.tmp")
  [[ $got == "$sum" ]] || { rm -f "$out.tmp"; die "$name: sha256 $got, want $sum"; }
  mv -f "$out.tmp" "$out"
  fetched=$((fetched + 1))
done
log "${#PROGRAMS[@]} benign PE programs in $OUTDIR ($fetched fetched)"
