#!/usr/bin/env bash
# 100 `inet tunnel` GRE stanzas brought up, side by side: netconf against
# Debian's ifupdown 0.8.41 (`ip tunnel add`, `ip link set up`, `ip addr add`
# per stanza) on the same interfaces file, in the same VM (issue 16's
# `tunnel-100`). This machine's kernel has no ip_gre: the script runs itself
# in scripts/vm-run, which boots Debian's kernel (docs/TESTING.md).
#
#   cargo build --release && sudo bench/tunnel-100.sh [RUNS]
#
# Each run makes, for each side (the order alternating between runs), a fresh
# network namespace, times `ifup -a` of the file (netconf: with netconfd
# already started and ready; its start is not counted, as at boot it is up
# before networking.service), checks that the 100 tunnels are up with their
# addresses, then `ifdown -a` (timed too) and checks that they are gone.
# Neither side runs hook scripts (Debian: --no-scripts; netconfd: an empty
# hooks directory), so what is compared is the work on the kernel. The
# tunnel modules are loaded first, outside the timings. netconfd is started
# by this script and stopped by its PID.
#
# Output: a table on stdout with each run's figures, the medians, and the
# ratio Debian/netconf. Needs root, iproute2; the VM needs what
# scripts/vm-run needs. Addresses: 198.18.0.0/15 only.
set -euo pipefail
export LC_ALL=C

n=100
runs=${1:-3}
self=$(realpath "$0")
repo=$(cd "$(dirname "$self")/.." && pwd)
deb=${DEBIAN_IFUPDOWN_ROOT:-$repo/target/debian-ifupdown/root}
case $deb in /*) ;; *) deb=$repo/$deb ;; esac

if [ "${NETCONF_BENCH_IN_VM:-}" != 1 ]; then
    NETCONF_BENCH_IN_VM=1 exec "$repo/scripts/vm-run" "$self" "$runs"
fi

bin=${NETCONF_BIN_DIR:-$repo/target/release}
[ -x "$bin/netconfd" ] || bin=$repo/target/debug
for b in netconfd ifup ifdown; do
    [ -x "$bin/$b" ] || { echo "tunnel-100: no $bin/$b: cargo build --release first" >&2; exit 1; }
done
[ -x "$deb/sbin/ifup" ] ||
    { echo "tunnel-100: no Debian ifupdown in $deb: run scripts/fetch-debian-ifupdown" >&2; exit 1; }
modprobe ip_gre

# Milliseconds between two $EPOCHREALTIME values.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

work=$(mktemp -d /tmp/tunnel-100.XXXXXX)
daemon_pid=
ns=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null || true
    [ -n "$ns" ] && ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

{
    echo "auto lo"
    echo "iface lo inet loopback"
    for i in $(seq 1 $n); do
        echo
        echo "auto gre$i"
        echo "iface gre$i inet tunnel"
        echo "    mode gre"
        echo "    local 198.18.0.1"
        echo "    endpoint 198.18.1.$i"
        echo "    address 198.19.$i.1"
        echo "    netmask 255.255.255.252"
        echo "    ttl 64"
    done
} >"$work/interfaces"
mkdir -p "$work/no-hooks"/if-{pre-up,up,down,post-down}.d

# Fails unless NS has the N tunnels, up, with their addresses (up=1), or
# none of them (up=0).
check() {
    local want=$1 have
    have=$(ip -n "$ns" -o -4 addr show | grep -c ' gre[0-9]* *inet 198\.19\.' || true)
    if [ "$want" = 1 ] && [ "$have" != "$n" ]; then
        echo "tunnel-100: $side left $have of $n tunnels with their address" >&2; return 1
    fi
    have=$(ip -n "$ns" -o link show type gre | grep -vc ' gre0@' || true)
    if [ "$want" = 0 ] && [ "$have" != 0 ]; then
        echo "tunnel-100: $side left $have tunnels after ifdown -a" >&2; return 1
    fi
}

# One side in a fresh namespace: "UP_MS DOWN_MS" in WORK/result.
run_side() {
    side=$1
    ns=tun100-$side-$$
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    local t0 t1 t2
    if [ "$side" = debian ]; then
        rm -rf "$work/state" && mkdir -p "$work/state"
        local deb_cmd=(env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
            ip netns exec "$ns")
        t0=$EPOCHREALTIME
        "${deb_cmd[@]}" "$deb/sbin/ifup" -a --no-scripts -i "$work/interfaces" \
            --state-dir "$work/state" >"$work/debian-up.log" 2>&1
        t1=$EPOCHREALTIME
        check 1
        "${deb_cmd[@]}" "$deb/sbin/ifdown" -a --no-scripts -i "$work/interfaces" \
            --state-dir "$work/state" >"$work/debian-down.log" 2>&1
        t2=$EPOCHREALTIME
        check 0
    else
        rm -rf "$work/run" "$work/lib" "$work/ctl.sock"
        ip netns exec "$ns" "$bin/netconfd" --socket "$work/ctl.sock" --run-dir "$work/run" \
            --state-dir "$work/lib" --interfaces "$work/interfaces" \
            --hooks-dir "$work/no-hooks" --resolv-conf "$work/resolv.conf" \
            >"$work/netconfd.log" 2>&1 &
        daemon_pid=$!
        for _ in $(seq 1 300); do [ -S "$work/ctl.sock" ] && break; sleep 0.1; done
        [ -S "$work/ctl.sock" ] || { echo "tunnel-100: netconfd did not start" >&2; return 1; }
        export NETCONF_SOCKET=$work/ctl.sock
        t0=$EPOCHREALTIME
        ip netns exec "$ns" "$bin/ifup" -a >"$work/netconf-up.log" 2>&1
        t1=$EPOCHREALTIME
        check 1
        ip netns exec "$ns" "$bin/ifdown" -a >"$work/netconf-down.log" 2>&1
        t2=$EPOCHREALTIME
        check 0
        kill "$daemon_pid"
        wait "$daemon_pid" 2>/dev/null || true
        daemon_pid=
    fi
    ip netns del "$ns"
    ns=
    echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2")" >"$work/result"
}

echo "tunnel-100: $n inet tunnel (gre) stanzas, $runs runs, kernel $(uname -r), binaries $bin"
echo
echo "| run | Debian ifup -a | netconf ifup -a | Debian ifdown -a | netconf ifdown -a |"
echo "|---|---|---|---|---|"
: >"$work/d-up"; : >"$work/n-up"; : >"$work/d-down"; : >"$work/n-down"
for r in $(seq 1 "$runs"); do
    if [ $((r % 2)) = 1 ]; then order="debian netconf"; else order="netconf debian"; fi
    for s in $order; do
        run_side "$s"
        read -r up down <"$work/result"
        if [ "$s" = debian ]; then d_up=$up d_down=$down; else n_up=$up n_down=$down; fi
    done
    echo "$d_up" >>"$work/d-up"; echo "$n_up" >>"$work/n-up"
    echo "$d_down" >>"$work/d-down"; echo "$n_down" >>"$work/n-down"
    echo "| $r | $d_up ms | $n_up ms | $d_down ms | $n_down ms |"
done
mdu=$(median <"$work/d-up"); mnu=$(median <"$work/n-up")
mdd=$(median <"$work/d-down"); mnd=$(median <"$work/n-down")
echo "| median | $mdu ms | $mnu ms | $mdd ms | $mnd ms |"
echo
awk -v du="$mdu" -v nu="$mnu" -v dd="$mdd" -v nd="$mnd" 'BEGIN {
    printf "ratio Debian/netconf: ifup -a %.1fx, ifdown -a %.1fx\n", du / nu, dd / nd }'
