#!/bin/sh
# corpus-check.sh ROOTFS.squashfs SCRIPTDIR [TIMEOUT_SECONDS] [LOGDIR]
#
# Runs each script of SCRIPTDIR (the BENIGN items of a corpus manifest, one
# file each; TestDebianManifestInRootFS writes them) inside the guest's root
# filesystem on this host, without a VM, to check that they work: the
# squashfs is mounted read-only under an overlay whose upper layer is a
# fresh tmpfs for every script, in new mount, network (loopback only) and
# PID namespaces, chrooted, with the guest agent's environment (cwd
# /tmp/smn, the script at /tmp/smn/sample, PATH=/bin:/sbin:/usr/bin,
# HOME=/root, stdin /dev/null) and a time limit. Nothing the scripts write
# reaches the host's filesystem; they cannot reach the network.
#
# NEVER give it Atomic Red Team items: they are destructive by design and
# run only in disposable VMs.
#
# Prints one line per script: "<exit status> <seconds> <name>" (124: timed
# out). With STRACE=1 and a LOGDIR, each script runs under strace -f -c and
# the line ends with its number of system calls (LOGDIR/<name>.strace has
# the table): under TCG the guest's tracer costs about 1.2 ms per call, so
# this estimates the time an item takes in a VM. Needs root (mount,
# unshare, chroot) and squashfs and overlay support in the kernel.
set -eu

if [ "$#" -lt 2 ]; then
	echo "usage: $0 ROOTFS.squashfs SCRIPTDIR [TIMEOUT_SECONDS] [LOGDIR]" >&2
	exit 2
fi
rootfs=$1
scripts=$2
limit=${3:-20}
logs=${4:-}
strace=
if [ "${STRACE:-}" = 1 ]; then
	[ -n "$logs" ] || { echo "$0: STRACE=1 needs a LOGDIR" >&2; exit 2; }
	command -v strace >/dev/null || { echo "$0: STRACE=1 needs strace" >&2; exit 2; }
	strace=1
fi
[ -f "$rootfs" ] || { echo "$0: no root filesystem at $rootfs" >&2; exit 2; }
[ -d "$scripts" ] || { echo "$0: no script folder $scripts" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "$0: needs root (mount, unshare, chroot)" >&2; exit 2; }
case "$rootfs" in /*) ;; *) rootfs=$(pwd)/$rootfs ;; esac
case "$scripts" in /*) ;; *) scripts=$(pwd)/$scripts ;; esac
if [ -n "$logs" ]; then
	case "$logs" in /*) ;; *) logs=$(pwd)/$logs ;; esac
	mkdir -p "$logs"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/corpus-check.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 143' INT TERM

# Everything below runs in private namespaces: the mounts vanish with them
# (the loop device is released when the squashfs is unmounted).
unshare --mount --net --pid --fork --mount-proc --propagation private /bin/sh -eu -c '
rootfs=$1 scripts=$2 limit=$3 logs=$4 work=$5 strace=$6
# PID 1 of the namespace: without a handler it would ignore SIGTERM.
trap "exit 143" INT TERM
ip link set lo up 2>/dev/null || true
mkdir -p "$work/lower"
mount -t squashfs -o ro,loop "$rootfs" "$work/lower"
n=0
for f in "$scripts"/*; do
	[ -f "$f" ] || continue
	n=$((n + 1))
	name=$(basename "$f")
	rw=$work/rw$n
	mkdir -p "$rw"
	mount -t tmpfs -o size=512m tmpfs "$rw"
	mkdir -p "$rw/upper" "$rw/work" "$rw/root"
	mount -t overlay overlay -o "lowerdir=$work/lower,upperdir=$rw/upper,workdir=$rw/work" "$rw/root"
	r=$rw/root
	mount -t proc proc "$r/proc"
	mount -t tmpfs -o mode=1777 tmpfs "$r/tmp"
	mount --rbind /dev "$r/dev"
	mount -t sysfs -o ro sysfs "$r/sys" 2>/dev/null || true
	mkdir -p "$r/tmp/smn" "$r/root"
	cp "$f" "$r/tmp/smn/sample"
	chmod 755 "$r/tmp/smn/sample"
	log=/dev/null
	[ -n "$logs" ] && log=$logs/$name.log
	start=$(date +%s.%N)
	set +e
	trace=
	if [ -n "$strace" ]; then
		trace="strace -f -qq -c -o $logs/$name.strace"
	fi
	env -i PATH=/bin:/sbin:/usr/bin HOME=/root \
		timeout -k 2 "$limit" $trace chroot "$r" /bin/sh -c "cd /tmp/smn && exec ./sample" </dev/null >"$log" 2>&1
	rc=$?
	set -e
	end=$(date +%s.%N)
	calls=
	if [ -n "$strace" ]; then
		calls=$(awk "/ total\$/ {print \$(NF-2)}" "$logs/$name.strace" 2>/dev/null || true)
	fi
	printf "%d %.2f %s %s\n" "$rc" "$(echo "$end - $start" | awk "{print \$1 - \$3}")" "$name" "$calls"
	# Processes a script left behind (in this PID namespace) hold the mounts.
	for p in $(ls /proc | grep -E "^[0-9]+$"); do
		[ "$p" -gt 1 ] && [ "$p" != "$$" ] && [ "$(readlink /proc/$p/root 2>/dev/null)" = "$r" ] && kill -9 "$p" 2>/dev/null || true
	done
	umount -R -l "$rw"
done
umount -l "$work/lower"
' corpus-check "$rootfs" "$scripts" "$limit" "$logs" "$work" "$strace"
