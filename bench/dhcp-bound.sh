#!/usr/bin/env bash
# How long netconfd takes to apply a DHCP lease: N ifup/ifdown cycles of an
# `inet dhcp` interface against dnsmasq, in two throwaway namespaces, then the
# median of the daemon's own "DHCP event answered ... elapsed_us" for
# BOUND events (request in to answer out: address, routes, DNS, state).
# Add the hook's own cost (bench/dhcp-hook-cost.sh) for hook start to exit.
#
#   cargo build --release && sudo bench/dhcp-bound.sh [N]
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
bin=${NETCONF_BIN_DIR:-$PWD/target/release}
srv=ncbench-s-$$
cli=ncbench-c-$$
work=$(mktemp -d)
dnsmasq_pid=
daemon_pid=
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ -n "$dnsmasq_pid" ] && kill "$dnsmasq_pid" 2>/dev/null && wait "$dnsmasq_pid" 2>/dev/null
    ip netns del "$cli" 2>/dev/null || true
    ip netns del "$srv" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$srv"
ip netns add "$cli"
ip -n "$srv" link add srv0 type veth peer name cli0 netns "$cli"
ip -n "$srv" addr add 198.18.0.1/24 dev srv0
ip -n "$srv" link set srv0 up
ip -n "$cli" link set lo up
ip netns exec "$srv" dnsmasq --no-daemon --port=0 --no-resolv --no-hosts --no-ping \
    --bind-interfaces --interface=srv0 --dhcp-range=198.18.0.100,198.18.0.199,120 \
    --dhcp-option=option:dns-server,198.18.0.53 --dhcp-leasefile="$work/leases" \
    >"$work/dnsmasq.log" 2>&1 &
dnsmasq_pid=$!
printf 'iface cli0 inet dhcp\n' >"$work/interfaces"
: >"$work/resolv.conf"
ip netns exec "$cli" "$bin/netconfd" --socket "$work/ctl.sock" --run-dir "$work/run" \
    --state-dir "$work/lib" --interfaces "$work/interfaces" --hooks-dir "$work/hooks" \
    --resolv-conf "$work/resolv.conf" --log-level info 2>"$work/netconfd.log" &
daemon_pid=$!
for _ in $(seq 100); do [ -S "$work/ctl.sock" ] && break; sleep 0.05; done
for _ in $(seq "$n"); do
    "$bin/ifup" --socket "$work/ctl.sock" cli0
    "$bin/ifdown" --socket "$work/ctl.sock" cli0
done
grep 'reason=BOUND' "$work/netconfd.log" | grep -o 'elapsed_us=[0-9]*' | cut -d= -f2 | sort -n |
    awk '{ v[NR] = $1 } END { if (NR == 0) { print "no BOUND events"; exit 1 }
         printf "BOUND applied: median %.2f ms (min %.2f, max %.2f, n=%d)\n", v[int((NR + 1) / 2)] / 1000, v[1] / 1000, v[NR] / 1000, NR }'
