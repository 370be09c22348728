#!/usr/bin/env bash
# Installs and starts what ScaleMalNet needs on a Debian 12 host: libvirt + QEMU
# (without systemd), the tools to build the guest image, and Go modules.
# Idempotent: safe to run again; it skips what is already in place.
set -euo pipefail

log() { printf '[setup] %s\n' "$*" >&2; }

PKGS=(libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev
      qemu-system-x86 qemu-utils busybox-static kmod cpio xz-utils tini gcc
      libc6-dev gcc-multilib pkg-config strace ca-certificates procps mmdebstrap squashfs-tools zstd
      # the guest root filesystem's Wine prefix runs i386 programs through
      # qemu-user where the host kernel refuses them (vmimages/README.md)
      qemu-user-static
      # static-feature parity checks: real PE files and the reference parser
      wine64 mingw-w64 python3-pefile
      # the web interface's browser tests (driven by chromedp, headless)
      chromium
      # the YARA featurizer plugin (github.com/hillu/go-yara v4.2 over libyara 4.2, cgo + pkg-config)
      libyara-dev
      # scripts/hostlab.sh: namespaced libvirtd hosts for the scale-out tests (ip netns, veth, unshare)
      iproute2 util-linux)
# samples/fetch-benign-pe.sh fetches Windows builds of CLI tools with npm. Any
# npm will do (some hosts have NodeSource's nodejs, which ships npm and
# conflicts with Debian's npm package): install Debian's only when none is there.
command -v npm >/dev/null 2>&1 || PKGS+=(npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "apt packages present"
fi

# libvirtd's QEMU driver refuses to start without this user/group, even when
# QEMU runs as root (see docs/operations.md).
getent group libvirt-qemu >/dev/null || groupadd --system libvirt-qemu
getent passwd libvirt-qemu >/dev/null || useradd --system -g libvirt-qemu -d /var/lib/libvirt -s /usr/sbin/nologin libvirt-qemu

# Without libvirt-daemon-system there is no qemu.conf; run QEMU as root with no
# security driver (the VMs are disposable and have no network by default).
conf=/etc/libvirt/qemu.conf
want='# managed by scalemalnet scripts/setup-host.sh
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"'
if [[ ! -f $conf ]] || ! grep -q "managed by scalemalnet" "$conf"; then
  mkdir -p /etc/libvirt
  printf '%s\n' "$want" >"$conf"
  log "wrote $conf"
fi

running() { pgrep -x "$1" >/dev/null 2>&1; }
mkdir -p /var/run/libvirt /var/log/libvirt
if ! running virtlogd; then
  log "starting virtlogd"
  virtlogd -d
fi
if ! running libvirtd; then
  log "starting libvirtd under tini (child subreaper)"
  # tini -s makes QEMU children get reaped promptly (no systemd here).
  setsid tini -s -- libvirtd --pid-file=/var/run/libvirtd-scalemalnet.pid \
    >>/var/log/libvirt/libvirtd-scalemalnet.log 2>&1 < /dev/null &
fi
for i in $(seq 1 100); do
  if virsh -c qemu:///system version >/dev/null 2>&1; then break; fi
  sleep 0.2
done
virsh -c qemu:///system version >/dev/null 2>&1 || { log "libvirtd did not come up; see /var/log/libvirt/libvirtd-scalemalnet.log"; exit 1; }
# Without systemd, libvirt puts every guest under the "machine" cgroup, whose
# default CPU weight (cgroup v1 cpu.shares 1024, v2 cpu.weight 100) equals
# ONE ordinary process: on a busy host all guests together got one process's
# share of the CPU, restores took a minute and TCG guests timed out (measured:
# restore 1m12s with 24 runnable compiles beside it, 6-11 s after this). The
# guests are this host's work, so they get the largest weight.
if [[ -d /sys/fs/cgroup/cpu ]]; then            # cgroup v1
  mkdir -p /sys/fs/cgroup/cpu/machine 2>/dev/null && echo 262144 > /sys/fs/cgroup/cpu/machine/cpu.shares 2>/dev/null ||
    log "could not raise the machine cgroup's cpu.shares (guests may starve on a busy host)"
elif [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then   # cgroup v2
  mkdir -p /sys/fs/cgroup/machine 2>/dev/null && echo 10000 > /sys/fs/cgroup/machine/cpu.weight 2>/dev/null ||
    log "could not raise the machine cgroup's cpu.weight (guests may starve on a busy host)"
fi
log "libvirt ready ($(virsh -c qemu:///system version 2>/dev/null | awk '/Running hypervisor/ {print $3, $4}'))"
