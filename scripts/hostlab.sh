#!/usr/bin/env bash
# hostlab.sh: extra libvirt hosts on this machine, for scale-out tests
# (docs/scale-out.md). Each host N (1..9) is a network namespace smn-hN
# with a veth pair to the root namespace (10.213.N.1 here, 10.213.N.2
# there, a /30 the lab owns) and its own virtlogd + libvirtd, listening
# with qemu+tcp (no auth) on 10.213.N.2 only. Their state lives in
# $HOSTLAB_DIR/hN; tear-down removes all of it.
#
#   scripts/hostlab.sh up N        # hosts 1..N (idempotent)
#   scripts/hostlab.sh down [N]    # remove hosts 1..N (default: all found)
#   scripts/hostlab.sh kill I      # SIGKILL host I's libvirtd (failure tests)
#   scripts/hostlab.sh start I     # (re)start host I (network + libvirtd)
#   scripts/hostlab.sh stop I      # remove host I only
#   scripts/hostlab.sh status      # one line per host
#   scripts/hostlab.sh uri I       # qemu+tcp://10.213.I.2/system
#
# Needs root, iproute2, util-linux (unshare, nsenter), tini, libvirt (scripts/setup-host.sh).
# No traffic leaves the machine: the veth pairs connect nothing else.
set -euo pipefail

DIR=${HOSTLAB_DIR:-/var/lib/scalemalnet-hostlab}
log() { echo "hostlab: $*" >&2; }

ns() { echo "smn-h$1"; }
addr() { echo "10.213.$1.2"; }
uri() { echo "qemu+tcp://$(addr "$1")/system"; }

check_n() {
  [[ $1 =~ ^[1-9]$ ]] || { log "host number must be 1..9, got '$1'"; exit 2; }
}

alive() { [[ -f $1 ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

net_up() {
  local i=$1 n; n=$(ns "$i")
  if ! ip netns list | grep -qw "$n"; then
    # The lab's range must be free: refuse rather than shadow a real route.
    if ip -4 route show | grep -q "^10\.213\.$i\."; then
      log "10.213.$i.0/30 is already routed on this machine; not touching it"; exit 1
    fi
    ip netns add "$n"
    ip link add "$n-r" type veth peer name "$n-n"
    ip link set "$n-n" netns "$n"
    ip addr add "10.213.$i.1/30" dev "$n-r"
    ip link set "$n-r" up
    ip -n "$n" addr add "$(addr "$i")/30" dev "$n-n"
    ip -n "$n" link set "$n-n" up
    ip -n "$n" link set lo up
  fi
}

write_conf() {
  local i=$1 d=$DIR/h$1
  mkdir -p "$d"/{etc,run,lib,log,cache,images,state}
  cat >"$d/etc/libvirtd.conf" <<EOF
# hostlab host $i: qemu+tcp on the namespace's address only, no auth
# (the lab's private veth; never do this on a routed network).
listen_tls = 0
listen_tcp = 1
auth_tcp = "none"
listen_addr = "$(addr "$i")"
tcp_port = "16509"
unix_sock_group = "root"
unix_sock_rw_perms = "0700"
log_outputs = "3:file:$d/log/libvirtd-internal.log"
EOF
  cat >"$d/etc/qemu.conf" <<EOF
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
EOF
  : >"$d/etc/virtlogd.conf"
  [[ -f /etc/libvirt/libvirt.conf ]] && cp /etc/libvirt/libvirt.conf "$d/etc/" || true
}

start_host() {
  local i=$1 d=$DIR/h$1 n; n=$(ns "$i")
  if alive "$d/libvirtd.pid"; then return 0; fi
  write_conf "$i"
  # A private mount namespace inside the network namespace: libvirt's
  # fixed paths (/etc/libvirt, /run/libvirt, /var/lib/libvirt, ...) are
  # bind-mounted to this host's own directories, so its sockets, state and
  # configuration are its own. The daemons keep the namespaces alive.
  # nsenter, not `ip netns exec`: the latter mounts a fresh /sys, which
  # hides /sys/fs/cgroup, and libvirtd then leaves its QEMUs in the root
  # cgroup, outside the 'machine' cgroup and its CPU weight.
  nsenter --net="/run/netns/$n" unshare -m --propagation private -- sh -c "
    set -e
    mount --bind '$d/etc' /etc/libvirt
    mount --bind '$d/run' /run/libvirt
    mount --bind '$d/lib' /var/lib/libvirt
    mount --bind '$d/log' /var/log/libvirt
    mkdir -p /var/cache/libvirt && mount --bind '$d/cache' /var/cache/libvirt
    if ! [ -f '$d/virtlogd.pid' ] || ! kill -0 \$(cat '$d/virtlogd.pid') 2>/dev/null; then
      virtlogd -d -p '$d/virtlogd.pid'
    fi
    setsid tini -s -- libvirtd -l --pid-file='$d/libvirtd.pid' >>'$d/libvirtd.log' 2>&1 </dev/null &
    echo \$! >'$d/tini.pid'
  "
  local t=0
  until virsh -c "$(uri "$i")" version >/dev/null 2>&1; do
    t=$((t + 1))
    if ((t > 100)); then log "host $i: libvirtd did not answer on $(uri "$i"); see $d/libvirtd.log"; exit 1; fi
    sleep 0.2
  done
  log "host $i up: $(uri "$i")"
}

kill_host() {
  local d=$DIR/h$1
  for p in libvirtd tini; do
    if alive "$d/$p.pid"; then kill -KILL "$(cat "$d/$p.pid")" 2>/dev/null || true; fi
  done
  rm -f "$d/libvirtd.pid"
}

down_host() {
  local i=$1 d=$DIR/h$1 n; n=$(ns "$i")
  if alive "$d/libvirtd.pid"; then
    for dom in $(virsh -c "$(uri "$i")" list --name 2>/dev/null); do
      virsh -c "$(uri "$i")" destroy "$dom" >/dev/null 2>&1 || true
    done
  fi
  kill_host "$i"
  if alive "$d/virtlogd.pid"; then kill "$(cat "$d/virtlogd.pid")" 2>/dev/null || true; fi
  # Anything still in the namespace (a QEMU left by a killed libvirtd).
  if ip netns list | grep -qw "$n"; then
    for p in $(ip netns pids "$n" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    sleep 0.2
    ip netns del "$n" 2>/dev/null || true
  fi
  ip link del "$n-r" 2>/dev/null || true
  rm -rf "$d"
  log "host $i down"
}

weight() {
  # libvirt places every libvirtd's guests under the same 'machine' cgroup
  # (no systemd): the namespaced hosts share setup-host.sh's weight. Set it
  # here too in case setup-host.sh has not run since boot.
  if [[ -d /sys/fs/cgroup/cpu ]]; then
    mkdir -p /sys/fs/cgroup/cpu/machine 2>/dev/null && echo 262144 >/sys/fs/cgroup/cpu/machine/cpu.shares 2>/dev/null || true
  else
    mkdir -p /sys/fs/cgroup/machine 2>/dev/null && echo 10000 >/sys/fs/cgroup/machine/cpu.weight 2>/dev/null || true
  fi
}

cmd=${1:-}
case "$cmd" in
up)
  check_n "${2:-}"
  [[ $(id -u) == 0 ]] || { log "needs root"; exit 1; }
  weight
  for ((i = 1; i <= $2; i++)); do net_up "$i"; start_host "$i"; done
  ;;
down)
  if [[ -n ${2:-} ]]; then
    check_n "$2"; hosts=$(seq 1 "$2")
  else
    hosts=$(ls -d "$DIR"/h[1-9] 2>/dev/null | sed 's/.*\/h//')
  fi
  for i in $hosts; do down_host "$i"; done
  rmdir "$DIR" 2>/dev/null || true
  ;;
kill) check_n "${2:-}"; kill_host "$2"; log "host $2: libvirtd killed" ;;
start) check_n "${2:-}"; weight; net_up "$2"; start_host "$2" ;;
stop) check_n "${2:-}"; down_host "$2" ;;
uri) check_n "${2:-}"; uri "$2" ;;
status)
  for d in "$DIR"/h*; do
    [[ -d $d ]] || continue
    i=${d##*/h}
    if alive "$d/libvirtd.pid"; then s=up; else s=down; fi
    echo "h$i $(uri "$i") libvirtd=$s"
  done
  ;;
*) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
