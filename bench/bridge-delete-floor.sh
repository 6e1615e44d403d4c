#!/usr/bin/env bash
# The kernel's own cost of deleting bridges, the floor under every ifdown of
# the bridge benchmarks: N bridges (2 veth ports each, up, one address) made
# with `ip -batch`, then timed: one `link del` each (what ip -batch and the
# peers pay), and `link del group` of all of them (what netconf does).
#
#   sudo bench/bridge-delete-floor.sh [N]
#
# Runs in network namespaces of its own, removed on exit.
set -euo pipefail
n=${1:-100}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
work=$(mktemp -d)
namespaces=()
cleanup() {
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# A namespace ($ns) with N bridges over their ports, all up, in link group
# 4242. Not run in a subshell: cleanup must know the namespace.
bridges() {
    ns=ncbench-brdel-$$-$1
    ip netns add "$ns"
    namespaces+=("$ns")
    for i in $(seq 0 $((n - 1))); do
        echo "link add p${i}a type veth peer name p${i}ap"
        echo "link add p${i}b type veth peer name p${i}bp"
        echo "link set p${i}ap up"
        echo "link set p${i}bp up"
        echo "link add br$i type bridge stp_state 0 forward_delay 0"
        echo "link set p${i}a master br$i"
        echo "link set p${i}b master br$i"
        echo "link set p${i}a up"
        echo "link set p${i}b up"
        echo "link set br$i up group 4242"
        echo "address add 198.18.$((i % 256)).1/24 dev br$i"
    done > "$work/make"
    ip -n "$ns" -batch "$work/make"
}
ms() { echo $((($(date +%s%N) - $1) / 1000000)); }

bridges one
for i in $(seq 0 $((n - 1))); do echo "link del br$i"; done > "$work/one"
t=$(date +%s%N)
ip -n "$ns" -batch "$work/one"
echo "$n bridges, one \`link del\` each:      $(ms "$t") ms"

bridges group
t=$(date +%s%N)
ip -n "$ns" link del group 4242
echo "$n bridges, one \`link del group\`:     $(ms "$t") ms"
