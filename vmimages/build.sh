#!/usr/bin/env bash
# Builds the ScaleMalNet guest image from Debian's packages, reproducibly.
#
#   vmimages/build.sh OUTDIR
#
# Produces OUTDIR/vmlinux, OUTDIR/initramfs.cpio.gz, OUTDIR/rootfs.squashfs
# (the Debian 12 root filesystem with Wine, mounted read-only under a tmpfs
# overlay by the agent), OUTDIR/rootfs-packages.lock and OUTDIR/manifest.json.
# Skips the work ("image up to date") when the inputs digest equals the stamp
# left in OUTDIR by the previous build; the root filesystem is also cached by
# its own inputs in ROOTFS_CACHE. See vmimages/README.md.
#
# Environment:
#   KERNEL_PKG  kernel package (default: what linux-image-amd64 depends on)
#   CACHE_DIR   download/unpack cache (default: OUTDIR/../cache)
#   AGENT_BIN   use this prebuilt static binary as /init instead of building
#               ./guest/cmd/smn-agent (for testing the image machinery only)
#   CMDLINE     kernel command line recorded in the manifest
#   FORCE=1     rebuild even when the inputs have not changed
#   ROOTFS=0    no root filesystem: the busybox-only initramfs guest (baseline)
#   ROOTFS_CACHE  where built root filesystems are kept by input digest
#               (default /var/cache/scalemalnet/rootfs when writable, else
#               CACHE_DIR/rootfs), so a fresh clone on the same machine
#               reuses one instead of spending ~10 min building it
#   MIRROR      Debian mirror for the root filesystem (default: the first
#               URIs of this host's apt sources, else deb.debian.org)
set -euo pipefail
export LC_ALL=C
umask 022

log() { printf '[vmimages] %s\n' "$*" >&2; }
die() { printf '[vmimages] error: %s\n' "$*" >&2; exit 1; }

(($# == 1)) || die "usage: $0 OUTDIR"

SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SCRIPT="$SCRIPT_DIR/$(basename "${BASH_SOURCE[0]}")"
REPO_ROOT=$(cd "$SCRIPT_DIR/.." && pwd)
mkdir -p "$1"
OUTDIR=$(cd "$1" && pwd)
CACHE_DIR=${CACHE_DIR:-$(dirname "$OUTDIR")/cache}
mkdir -p "$CACHE_DIR"
CACHE_DIR=$(cd "$CACHE_DIR" && pwd)

# Load order of the virtio modules the agent needs: virtio-serial for the
# agent channel, then virtio-net (and its failover dependencies) for slots
# with a network device; the driver finds no device, and does nothing, in the
# default slots without one. The agent reads the same list from
# /lib/modules/scalemalnet/load-order.
MODULES=(virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console
         failover net_failover virtio_net virtio_blk squashfs overlay)
CMDLINE=${CMDLINE:-console=ttyS0 panic=-1 quiet random.trust_cpu=on}
ROOTFS=${ROOTFS:-1}
SUITE=bookworm
ROOTFS_PKGS_FILE=$SCRIPT_DIR/rootfs-packages.txt
AGENT_PKG=./guest/cmd/smn-agent
BUSYBOX=/bin/busybox

for tool in apt-get apt-cache dpkg-deb dpkg-query xz cpio gzip sha256sum modinfo go; do
  command -v "$tool" >/dev/null || die "missing tool '$tool' (run scripts/setup-host.sh)"
done
[[ -x $BUSYBOX ]] || die "$BUSYBOX not found: install busybox-static (scripts/setup-host.sh)"

# A dot-name, so that Go's ./... never walks a root filesystem being built.
TMP=$(mktemp -d "$CACHE_DIR/.tmp.XXXXXX")
trap 'rm -rf "$TMP"' EXIT

sha() { sha256sum "$1" | cut -d' ' -f1; }

# ---------------------------------------------------------------- agent
# Building the agent is cheap: do it every time and compare hashes.
if [[ -n ${AGENT_BIN:-} ]]; then
  [[ -f $AGENT_BIN ]] || die "AGENT_BIN=$AGENT_BIN does not exist"
  log "using prebuilt agent $AGENT_BIN (AGENT_BIN override)"
  cp "$AGENT_BIN" "$TMP/agent"
  AGENT_SRC="override:$(basename "$AGENT_BIN")"
else
  [[ -d $REPO_ROOT/${AGENT_PKG#./} ]] || die "guest agent source $AGENT_PKG not found in $REPO_ROOT: the image's /init is built from it (set AGENT_BIN=/path/to/static-binary to test the image build without it)"
  log "building agent $AGENT_PKG"
  (cd "$REPO_ROOT" && CGO_ENABLED=0 GOOS=linux GOARCH=amd64 \
     go build -trimpath -ldflags='-s -w -buildid=' -o "$TMP/agent" "$AGENT_PKG") \
    || die "go build $AGENT_PKG failed"
  AGENT_SRC=$AGENT_PKG
fi
file_hdr=$(head -c4 "$TMP/agent" | od -An -tx1 | tr -d ' \n')
[[ $file_hdr == 7f454c46 ]] || die "agent binary is not an ELF file"
AGENT_SHA=$(sha "$TMP/agent")

# ---------------------------------------------------------------- kernel package
# (Output is captured before grepping it: `apt-cache ... | grep -q` fails
# under pipefail when grep exits early and apt-cache gets SIGPIPE.)
apt_show() { apt-cache show --no-all-versions "$1" 2>/dev/null || true; }
apt_updated=0
apt_update() {
  ((apt_updated)) && return 0
  log "apt lists do not know $1: running apt-get update"
  apt-get update -qq || die "apt-get update failed"
  apt_updated=1
}
if [[ -z ${KERNEL_PKG:-} ]]; then
  meta=$(apt_show linux-image-amd64)
  if [[ $meta != *$'\nDepends:'* ]]; then
    apt_update linux-image-amd64
    meta=$(apt_show linux-image-amd64)
  fi
  deps=$(sed -n 's/^Depends: *//p' <<<"$meta" | tr ',' '\n' | sed 's/^ *//; s/[ (].*//')
  KERNEL_PKG=$(grep '^linux-image-[0-9].*-amd64$' <<<"$deps" | head -n1 || true)
  [[ -n $KERNEL_PKG ]] || die "cannot resolve the kernel package from linux-image-amd64's Depends (set KERNEL_PKG=linux-image-X-amd64)"
fi
kshow=$(apt_show "$KERNEL_PKG")
if [[ $kshow != *$'\nVersion:'* ]]; then
  apt_update "$KERNEL_PKG"
  kshow=$(apt_show "$KERNEL_PKG")
fi
KERNEL_VER=$(sed -n 's/^Version: *//p' <<<"$kshow" | head -n1)
[[ -n $KERNEL_VER ]] || die "package $KERNEL_PKG is unknown to apt (check KERNEL_PKG)"
BUSYBOX_VER=$(dpkg-query -W -f='${Version}' busybox-static 2>/dev/null || echo unknown)
BUSYBOX_SHA=$(sha "$BUSYBOX")
SCRIPT_SHA=$(sha "$SCRIPT")

# ---------------------------------------------------------------- root filesystem inputs
# RELAY_INCLUDE bakes a RelayInclude value into the prefix. Empty by
# default: the agent sets it at boot from the recorded API set
# (`smn-agent -relay-include` prints it), so a new set needs no new image.
RELAY_INCLUDE=${RELAY_INCLUDE:-}
ROOTFS_INPUTS=none
if [[ $ROOTFS == 1 ]]; then
  [[ -f $ROOTFS_PKGS_FILE ]] || die "$ROOTFS_PKGS_FILE missing"
  if [[ -z ${MIRROR:-} ]]; then
    MIRROR=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1 || true)
    [[ -n $MIRROR ]] || MIRROR=$(awk '$1 == "deb" && $0 !~ /security/ {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
    [[ -n $MIRROR ]] || MIRROR=http://deb.debian.org/debian
  fi
  ROOTFS_PKGS=$(sed 's/#.*//; s/[[:space:]]//g; /^$/d' "$ROOTFS_PKGS_FILE" | sort -u | paste -sd, -)
  # The rootfs part of this script (between its markers) is an input; the
  # rest of the script is not, so editing the initramfs part reuses it.
  ROOTFS_SCRIPT_SHA=$(sed -n '/^# >>> rootfs build/,/^# <<< rootfs build/p' "$SCRIPT" | sha256sum | cut -d' ' -f1)
  ROOTFS_INPUTS=$(printf '%s\n' "suite=$SUITE" "mirror=$MIRROR" "packages=$ROOTFS_PKGS" \
    "relay_include_sha256=$(printf '%s' "$RELAY_INCLUDE" | sha256sum | cut -d' ' -f1)" \
    "rootfs_script_sha256=$ROOTFS_SCRIPT_SHA" | sha256sum | cut -d' ' -f1)
  if [[ -z ${ROOTFS_CACHE:-} ]]; then
    if mkdir -p /var/cache/scalemalnet/rootfs 2>/dev/null && [[ -w /var/cache/scalemalnet/rootfs ]]; then
      ROOTFS_CACHE=/var/cache/scalemalnet/rootfs
    else
      ROOTFS_CACHE=$CACHE_DIR/rootfs
    fi
  fi
  mkdir -p "$ROOTFS_CACHE"
fi

# ---------------------------------------------------------------- up to date?
INPUTS=$(printf '%s\n' \
  "kernel_pkg=$KERNEL_PKG" "kernel_ver=$KERNEL_VER" \
  "agent_sha256=$AGENT_SHA" \
  "busybox_ver=$BUSYBOX_VER" "busybox_sha256=$BUSYBOX_SHA" \
  "modules=${MODULES[*]}" "cmdline=$CMDLINE" "script_sha256=$SCRIPT_SHA" \
  "rootfs=$ROOTFS_INPUTS" \
  | sha256sum | cut -d' ' -f1)
STAMP=$OUTDIR/.inputs
rootfs_ok=1
[[ $ROOTFS != 1 || -f $OUTDIR/rootfs.squashfs ]] || rootfs_ok=0
if [[ ${FORCE:-0} != 1 && -f $STAMP && $(cat "$STAMP") == "$INPUTS" && $rootfs_ok == 1 \
      && -f $OUTDIR/vmlinux && -f $OUTDIR/initramfs.cpio.gz && -f $OUTDIR/manifest.json ]]; then
  log "image up to date ($OUTDIR, inputs $INPUTS)"
  echo "image up to date"
  exit 0
fi
log "building image: $KERNEL_PKG $KERNEL_VER, agent $AGENT_SHA"

# ---------------------------------------------------------------- kernel + modules
# Cached per kernel package version: cache/kernel/<pkg>_<ver>/{vmlinux,release,modules/}.
KDIR=$CACHE_DIR/kernel/${KERNEL_PKG}_${KERNEL_VER//[:~]/_}
# The cache must hold every module of the current list (it grows over time).
kdir_ok=0
if [[ -f $KDIR/.done ]]; then
  kdir_ok=1
  for m in "${MODULES[@]}"; do
    [[ -f $KDIR/modules/$m.ko ]] || { kdir_ok=0; log "kernel cache lacks module $m: unpacking again"; break; }
  done
fi
if ((!kdir_ok)); then
  deb=""
  for f in "$CACHE_DIR"/"${KERNEL_PKG}"_*.deb; do
    [[ -f $f ]] && [[ $(dpkg-deb -f "$f" Version) == "$KERNEL_VER" ]] && deb=$f
  done
  if [[ -z $deb ]]; then
    log "downloading $KERNEL_PKG=$KERNEL_VER"
    # (APT::Sandbox::User=root: the cache dir need not be readable by _apt)
    dl() { (cd "$CACHE_DIR" && apt-get download -q -o APT::Sandbox::User=root "$KERNEL_PKG=$KERNEL_VER" >&2); }
    if ! dl; then
      ((apt_updated)) || { log "apt-get download failed: running apt-get update and retrying"; apt_update "$KERNEL_PKG"; }
      dl \
        || die "apt-get download $KERNEL_PKG=$KERNEL_VER failed"
    fi
    for f in "$CACHE_DIR"/"${KERNEL_PKG}"_*.deb; do
      [[ -f $f ]] && [[ $(dpkg-deb -f "$f" Version) == "$KERNEL_VER" ]] && deb=$f
    done
    [[ -n $deb ]] || die "downloaded package for $KERNEL_PKG $KERNEL_VER not found in $CACHE_DIR"
  fi
  log "unpacking $(basename "$deb")"
  unpack=$TMP/unpack
  dpkg-deb -x "$deb" "$unpack" || die "dpkg-deb -x $deb failed"
  shopt -s nullglob
  rels=("$unpack"/lib/modules/*/)
  vmlinuzs=("$unpack"/boot/vmlinuz-*)
  shopt -u nullglob
  ((${#rels[@]} == 1)) || die "expected exactly one /lib/modules/<release> in $deb, found ${#rels[@]}"
  ((${#vmlinuzs[@]} == 1)) || die "expected exactly one /boot/vmlinuz-* in $deb, found ${#vmlinuzs[@]}"
  release=$(basename "${rels[0]}")
  vmlinuz=${vmlinuzs[0]}

  # The bzImage carries the kernel as one XZ stream (magic FD 37 7A 58 5A 00).
  # Try each occurrence of the magic until one decompresses to an ELF file.
  stage=$TMP/kernel
  mkdir -p "$stage/modules"
  found=0
  while read -r off; do
    [[ -n $off ]] || continue
    # (process substitution, not a pipe: xz stops at the stream's end and
    # tail's SIGPIPE would fail the pipeline under pipefail)
    if xz -dc --single-stream < <(tail -c "+$((off + 1))" "$vmlinuz") >"$stage/vmlinux" 2>/dev/null \
       && [[ $(head -c4 "$stage/vmlinux" | od -An -tx1 | tr -d ' \n') == 7f454c46 ]]; then
      found=1; break
    fi
  done < <(grep -obUaP '\xFD7zXZ\x00' "$vmlinuz" | cut -d: -f1)
  ((found)) || die "no XZ stream holding an ELF kernel found in $(basename "$vmlinuz")"
  log "extracted vmlinux ($(stat -c %s "$stage/vmlinux") bytes) from $(basename "$vmlinuz") at offset $off"

  for m in "${MODULES[@]}"; do
    src=$(find "${rels[0]}kernel" \( -name "$m.ko" -o -name "$m.ko.*" \) -print -quit)
    [[ -n $src ]] || die "module $m not found under /lib/modules/$release/kernel in $deb"
    case $src in
      *.ko) cp "$src" "$stage/modules/$m.ko" ;;
      *.ko.xz) xz -dc "$src" >"$stage/modules/$m.ko" ;;
      *.ko.gz) gzip -dc "$src" >"$stage/modules/$m.ko" ;;
      *.ko.zst) command -v zstd >/dev/null || die "module $src is zstd-compressed and zstd is not installed"
                zstd -qdc "$src" >"$stage/modules/$m.ko" ;;
      *) die "module $src: unknown compression" ;;
    esac
  done
  printf '%s\n' "$release" >"$stage/release"
  rm -rf "$KDIR"; mkdir -p "$(dirname "$KDIR")"
  mv "$stage" "$KDIR"
  touch "$KDIR/.done"
  rm -rf "$unpack"
fi
RELEASE=$(cat "$KDIR/release")

# Each module's dependencies must come earlier in the load order.
declare -A loaded=()
for m in "${MODULES[@]}"; do
  [[ $(modinfo -F vermagic "$KDIR/modules/$m.ko" | cut -d' ' -f1) == "$RELEASE" ]] \
    || die "module $m was not built for $RELEASE"
  for d in $(modinfo -F depends "$KDIR/modules/$m.ko" | tr ',' ' '); do
    [[ -n ${loaded[$d]:-} ]] || die "module $m depends on $d, which is not loaded before it"
  done
  loaded[$m]=1
done

# >>> rootfs build (this block's text is part of the root filesystem's inputs)
# The root filesystem: Debian 12 from its packages (mmdebstrap), amd64 with
# i386 multiarch, a Wine prefix initialised here (not per boot: under TCG
# that would cost minutes), compressed into a read-only squashfs that every
# slot shares. Cached by ROOTFS_INPUTS.
build_rootfs() {
  local out=$1 rfs=$TMP/rootfs started
  started=$(date +%s)
  for tool in mmdebstrap mksquashfs chroot; do
    command -v "$tool" >/dev/null || die "missing tool '$tool' (run scripts/setup-host.sh)"
  done
  log "building the root filesystem (Debian $SUITE from $MIRROR; about 10 min on 2 cores, once per machine)"
  # Only the main suite: mmdebstrap updates with --error-on=any, and the
  # security suite's i386 index was once seen half-synced (GUIDE.md).
  mmdebstrap --mode=root --variant=apt --architectures=amd64,i386 \
    --include="$ROOTFS_PKGS" --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
    "$SUITE" "$rfs" "deb $MIRROR $SUITE main" >&2 || die "mmdebstrap failed"
  echo scalemalnet-guest >"$rfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tscalemalnet-guest\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$rfs/etc/hosts"

  # The Wine prefix. wineboot also runs Wine's 32-bit side (syswow64): on a
  # host kernel that cannot execute i386 programs (seen on this project's
  # build machines) that needs qemu-user, registered for i386 ELF files
  # through binfmt_misc only while this runs.
  local binfmt="" mounted=()
  cleanup_rootfs() {
    local m
    for m in "${mounted[@]}"; do umount -l "$m" 2>/dev/null || true; done
    [[ -n $binfmt && -e /proc/sys/fs/binfmt_misc/$binfmt ]] && echo -1 >"/proc/sys/fs/binfmt_misc/$binfmt" || true
  }
  trap 'cleanup_rootfs; rm -rf "$TMP"' EXIT
  local d
  for d in proc sys dev; do
    mount --rbind "/$d" "$rfs/$d" && mounted=("$rfs/$d" "${mounted[@]}") || die "bind-mount /$d into the root filesystem failed"
  done
  mount -t tmpfs tmpfs "$rfs/tmp" && mounted=("$rfs/tmp" "${mounted[@]}")
  if ! chroot "$rfs" /lib/ld-linux.so.2 --version >/dev/null 2>&1; then
    command -v qemu-i386-static >/dev/null || die "this host cannot execute i386 programs and qemu-user-static is missing (scripts/setup-host.sh)"
    [[ -e /proc/sys/fs/binfmt_misc/register ]] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc \
      || die "this host cannot execute i386 programs and binfmt_misc cannot be mounted"
    binfmt=smn-build-i386-$$
    printf ':%s:M::\\x7fELF\\x01\\x01\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x02\\x00\\x03\\x00:\\xff\\xff\\xff\\xff\\xff\\xfe\\xfe\\x00\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xff\\xfe\\xff\\xff\\xff:%s:F\n' \
      "$binfmt" "$(command -v qemu-i386-static)" >/proc/sys/fs/binfmt_misc/register \
      || die "registering qemu-i386 with binfmt_misc failed"
    log "this host cannot run i386 programs: Wine's 32-bit setup runs under qemu-i386 (slow, ~5 min)"
  fi
  local wenv=(env -i HOME=/root PATH=/usr/bin:/bin WINEPREFIX=/root/.wine WINEDEBUG=-all 'WINEDLLOVERRIDES=mscoree,mshtml=')
  chroot "$rfs" "${wenv[@]}" /usr/lib/wine/wine64 wineboot -i >&2 || die "wineboot -i failed"
  if [[ -n $RELAY_INCLUDE ]]; then
    chroot "$rfs" "${wenv[@]}" /usr/lib/wine/wine64 reg add 'HKCU\Software\Wine\Debug' /v RelayInclude /t REG_SZ /d "$RELAY_INCLUDE" /f >&2 \
      || die "setting RelayInclude failed"
  fi
  chroot "$rfs" "${wenv[@]}" /usr/lib/wine/wineserver -w || true
  [[ -f $rfs/root/.wine/system.reg ]] || die "the Wine prefix was not created"
  # Wine updates a prefix (wineboot -u: every builtin DLL copied again into
  # drive_c, ~480 MB) when .update-timestamp differs from wine.inf's mtime.
  # mksquashfs -all-time 0 below sets that mtime to 0, so without this the
  # guest's first Windows program (the warm-up) rewrote the prefix into the
  # RAM overlay and filled it: a sample then got ENOSPC writing anywhere
  # outside /tmp. "disable" is Wine's switch for "never update this prefix".
  echo disable >"$rfs/root/.wine/.update-timestamp"
  grep -q 'syswow64' "$rfs/root/.wine/system.reg" || log "warning: the prefix has no 32-bit (syswow64) registration"
  cleanup_rootfs
  mounted=()
  trap 'rm -rf "$TMP"' EXIT

  chroot "$rfs" dpkg-query -W -f='${Package}:${Architecture}=${Version}\n' | sort >"$out.lock"
  rm -rf "$rfs/tmp/"* "$rfs/tmp/".[!.]* 2>/dev/null || true
  log "root filesystem: $(du -sh "$rfs" | cut -f1), $(wc -l <"$out.lock") packages; compressing"
  mksquashfs "$rfs" "$out.tmp" -comp zstd -noappend -quiet -no-progress -all-time 0 -mkfs-time 0 >&2 \
    || die "mksquashfs failed"
  mv -f "$out.tmp" "$out"
  rm -rf "$rfs"
  log "root filesystem built in $(( $(date +%s) - started )) s: $(du -h "$out" | cut -f1)"
}
# <<< rootfs build

if [[ $ROOTFS == 1 ]]; then
  cached=$ROOTFS_CACHE/$ROOTFS_INPUTS.squashfs
  if [[ ${FORCE:-0} == 1 || ! -f $cached || ! -f $cached.lock ]]; then
    build_rootfs "$cached"
  else
    log "root filesystem from the cache ($cached)"
  fi
  ln -f "$cached" "$TMP/rootfs.squashfs" 2>/dev/null || cp "$cached" "$TMP/rootfs.squashfs"
  cp "$cached.lock" "$TMP/rootfs-packages.lock"
  ROOTFS_SHA=$(sha "$TMP/rootfs.squashfs")
fi

# ---------------------------------------------------------------- initramfs
root=$TMP/root
mkdir -p "$root"
for d in bin dev etc proc sys tmp run root usr/bin sbin var lib/modules/scalemalnet; do
  mkdir -p "$root/$d"
done
chmod 1777 "$root/tmp"
chmod 0700 "$root/root"
install -m 0755 "$TMP/agent" "$root/init"
install -m 0755 "$BUSYBOX" "$root/bin/busybox"
applets=$("$BUSYBOX" --list) || die "busybox --list failed"
for a in $applets; do
  [[ $a == busybox ]] || ln -s busybox "$root/bin/$a"
done
for a in sh ls cat id uname echo sleep ps mkdir rm cp mv; do
  [[ -L $root/bin/$a ]] || die "busybox has no applet '$a'"
done
for m in "${MODULES[@]}"; do
  install -m 0644 "$KDIR/modules/$m.ko" "$root/lib/modules/scalemalnet/$m.ko"
done
printf '%s\n' "${MODULES[@]}" >"$root/lib/modules/scalemalnet/load-order"
# The kernel opens /dev/console for /init's stdin/stdout/stderr before anything
# can mount devtmpfs: without this node /init starts with no fds 0-2.
mknod -m 0600 "$root/dev/console" c 5 1 || die "mknod /dev/console failed (needs root)"

cat >"$root/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PW
cat >"$root/etc/shadow" <<'SH'
root:*:19000:0:99999:7:::
daemon:*:19000:0:99999:7:::
nobody:*:19000:0:99999:7:::
SH
cat >"$root/etc/group" <<'GR'
root:x:0:
daemon:x:1:
shadow:x:42:
nogroup:x:65534:
GR
echo scalemalnet-guest >"$root/etc/hostname"
chmod 0644 "$root/etc/passwd" "$root/etc/group" "$root/etc/hostname"
chmod 0640 "$root/etc/shadow"

find "$root" -exec touch -h -d @0 {} +
(cd "$root" && find . -mindepth 1 -print0 | sort -z \
   | cpio --null --create --format=newc --reproducible --owner=0:0 --quiet) \
  | gzip -n -9 >"$TMP/initramfs.cpio.gz"

# ---------------------------------------------------------------- outputs
install -m 0644 "$KDIR/vmlinux" "$TMP/vmlinux"
VMLINUX_SHA=$(sha "$TMP/vmlinux")
INITRAMFS_SHA=$(sha "$TMP/initramfs.cpio.gz")
json_list() { local out="" x; for x in "$@"; do out+="${out:+, }\"$x\""; done; printf '[%s]' "$out"; }
cat >"$TMP/manifest.json" <<JSON
{
  "schema": 1,
  "kernel": {
    "package": "$KERNEL_PKG",
    "version": "$KERNEL_VER",
    "release": "$RELEASE",
    "vmlinux": "vmlinux",
    "vmlinux_sha256": "$VMLINUX_SHA"
  },
  "initramfs": "initramfs.cpio.gz",
  "initramfs_sha256": "$INITRAMFS_SHA",
  "agent": {
    "source": "$AGENT_SRC",
    "sha256": "$AGENT_SHA"
  },
  "busybox": {
    "version": "$BUSYBOX_VER",
    "sha256": "$BUSYBOX_SHA"
  },
  "modules": $(json_list "${MODULES[@]}"),
$(if [[ $ROOTFS == 1 ]]; then cat <<ROOT
  "rootfs": {
    "file": "rootfs.squashfs",
    "sha256": "$ROOTFS_SHA",
    "size": $(stat -c %s "$TMP/rootfs.squashfs"),
    "suite": "$SUITE",
    "mirror": "$MIRROR",
    "packages_lock": "rootfs-packages.lock",
    "inputs": "$ROOTFS_INPUTS",
    "cmdline": "smn.root=vda"
  },
ROOT
fi)
  "modules_dir": "/lib/modules/scalemalnet",
  "cmdline": "$CMDLINE",
  "inputs": "$INPUTS"
}
JSON
files=(vmlinux initramfs.cpio.gz manifest.json)
if [[ $ROOTFS == 1 ]]; then
  files+=(rootfs.squashfs rootfs-packages.lock)
else
  rm -f "$OUTDIR/rootfs.squashfs" "$OUTDIR/rootfs-packages.lock"
fi
for f in "${files[@]}"; do
  # (the root filesystem may be a hard link of the same cached file: mv
  # refuses to move a file onto itself)
  [[ $TMP/$f -ef $OUTDIR/$f ]] && rm -f "$OUTDIR/$f"
  mv -f "$TMP/$f" "$OUTDIR/$f"
done
printf '%s\n' "$INPUTS" >"$STAMP"
log "wrote $OUTDIR: vmlinux $VMLINUX_SHA, initramfs $INITRAMFS_SHA"
