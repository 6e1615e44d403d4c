#!/usr/bin/env bash
# How fast a prioritized profile falls back when a cable is pulled: the
# milliseconds from the kernel's carrier-lost notification of the active
# link to the last write that configures the fallback link (its address and
# default route), as `ip -timestamp monitor` in the namespace sees both;
# the median of N runs (`ip monitor` at real-time priority, so that its
# stamps are the times the messages came), for a static fallback and a DHCP one (dnsmasq in a
# server namespace; dhclient's own DISCOVER/OFFER/REQUEST/ACK is inside the
# DHCP figure). Between runs the cable goes back in and the better link takes
# over again after the hold-down (0.2 s here).
#
#   cargo build --release && sudo bench/profile-fallback.sh [N]
#
# Runs in namespaces of its own, removed on exit; netconfd reads the profile
# from a throwaway --config-dir.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
bin=${NETCONF_BIN_DIR:-$PWD/target/release}
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }
[ -x "$bin/netconfd" ] || { echo "no $bin/netconfd: cargo build --release" >&2; exit 1; }
work=$(mktemp -d)
chmod 755 "$work"
pids=()
namespaces=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null && wait "$p" 2>/dev/null; done
    for ns in "${namespaces[@]}"; do ip netns del "$ns" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

# ms between two `ip -ts` stamps ([2026-12-07T10:00:00.123456]).
stamp_ms() {
    local t=${1#[}
    t=${t%]}
    date -d "${t/T/ }" +%s.%N | awk '{ printf "%.3f", $1 * 1000 }'
}

rt=
command -v chrt >/dev/null && rt="chrt -f 50"

addr_of() { ip -n "$1" -4 -o addr show dev "$2" scope global | awk '{ print $4 }'; }

# wait_for NS DEV PREFIX: until DEV has an address starting with PREFIX.
wait_for() {
    for _ in $(seq 400); do
        addr_of "$1" "$2" | grep -q "^$3" && return 0
        sleep 0.025
    done
    echo "timed out waiting for $3 on $2" >&2
    return 1
}

# run_kind KIND: N fallbacks with a fallback link configured by KIND
# (static or dhcp); prints the median.
run_kind() {
    local kind=$1 cli=ncbench-pf-c-$$-$1 srv=ncbench-pf-s-$$-$1 dir=$work/$1
    mkdir -p "$dir/netconf/profiles" "$dir/hooks"/if-{pre-up,up,down,post-down}.d
    ip netns add "$cli"
    namespaces+=("$cli")
    ip netns add "$srv"
    namespaces+=("$srv")
    ip -n "$cli" link set lo up
    ip -n "$srv" link add s1 type veth peer name w1 netns "$cli"
    ip -n "$srv" link add s2 type veth peer name w2 netns "$cli"
    ip -n "$srv" addr add 198.51.100.254/24 dev s1
    ip -n "$srv" addr add 203.0.113.254/24 dev s2
    ip -n "$srv" link set s1 up
    ip -n "$srv" link set s2 up
    local second want
    if [ "$kind" = dhcp ]; then
        ip netns exec "$srv" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-resolv \
            --no-hosts --no-ping --bind-interfaces --interface=s2 \
            --dhcp-range=203.0.113.100,203.0.113.199,1h --dhcp-leasefile="$dir/leases" \
            --pid-file="$dir/dnsmasq.pid" >"$dir/dnsmasq.log" 2>&1 &
        pids+=($!)
        second="iface w2 inet dhcp"
        want=203.0.113.1
    else
        second=$(printf 'iface w2 inet static\n    address 203.0.113.1/24\n    gateway 203.0.113.254')
        want=203.0.113.1/24
    fi
    cat >"$dir/netconf/profiles/bench" <<EOF
iface w1 inet static
    address 198.51.100.1/24
    gateway 198.51.100.254
    activation prioritized
    priority-group 1

$second
    activation prioritized
    priority-group 0
EOF
    : >"$dir/interfaces"
    : >"$dir/resolv.conf"
    ip netns exec "$cli" "$bin/netconfd" --socket "$dir/ctl.sock" --run-dir "$dir/run" \
        --state-dir "$dir/lib" --interfaces "$dir/interfaces" --hooks-dir "$dir/hooks" \
        --config-dir "$dir/netconf" --hold-down 0.2 --resolv-conf "$dir/resolv.conf" \
        --dhcp-hook "$bin/netconf-dhcp-hook" --log-level warn 2>"$dir/netconfd.log" &
    pids+=($!)
    for _ in $(seq 200); do [ -S "$dir/ctl.sock" ] && break; sleep 0.025; done
    "$bin/netconfctl" --socket "$dir/ctl.sock" profile enable bench >/dev/null 2>&1
    wait_for "$cli" w1 198.51.100.1
    local times=()
    for i in $(seq "$n"); do
        sleep 0.3
        # Stamped when `ip` reads each message: at real-time priority it
        # reads them as they come, even on a loaded machine.
        $rt ip -n "$cli" -ts -o monitor link address route >"$dir/monitor.$i" 2>/dev/null &
        local mon=$!
        sleep 0.1
        ip -n "$srv" link set s1 down
        wait_for "$cli" w2 "$want"
        # The default route comes after the address.
        sleep 0.3
        kill "$mon" 2>/dev/null
        wait "$mon" 2>/dev/null || true
        local first last
        first=$(grep -m1 -E '^\[[^]]*\] [0-9]+: w1[@:].*NO-CARRIER' "$dir/monitor.$i" | cut -d' ' -f1)
        last=$(grep -E ' (dev )?w2[ @:]' "$dir/monitor.$i" | grep -v -E 'fe80|ff00|Deleted' |
            tail -1 | cut -d' ' -f1)
        if [ -n "$first" ] && [ -n "$last" ]; then
            times+=("$(awk -v a="$(stamp_ms "$first")" -v b="$(stamp_ms "$last")" 'BEGIN { printf "%.2f", b - a }')")
        fi
        ip -n "$srv" link set s1 up
        wait_for "$cli" w1 198.51.100.1
    done
    printf '%s\n' "${times[@]}" | sort -n | awk -v kind="$kind" '{ v[NR] = $1 }
        END { if (NR == 0) { print kind ": no measurement"; exit 1 }
              printf "%s fallback: median %.2f ms (min %.2f, max %.2f, n=%d)\n",
                  kind, v[int((NR + 1) / 2)], v[1], v[NR], NR }'
}

run_kind static
run_kind dhcp
