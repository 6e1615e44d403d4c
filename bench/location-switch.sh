#!/usr/bin/env bash
# Location switch latency (issue 14): from the event that changes which
# location's conditions hold to netconfd's last write of the switch, in
# milliseconds, median of RUNS switches, in a network namespace of its own.
#
#   cargo build --release && sudo bench/location-switch.sh [RUNS]
#   (NETCONF_BIN_DIR=target/debug for a debug build)
#
# The namespace has lan0 (one end of a veth pair, up) with 198.51.100.1/24
# always on it, and netconfd with one location of its own:
#
#   locations/away: activation conditional-any
#                   condition ip-address is 203.0.113.7
#                   dns from static, nameserver 203.0.113.53, hosts-file hosts.away
#
# Each run adds 203.0.113.7/24 to lan0 (`away` becomes active: resolv.conf
# and the hosts file rewritten) or deletes it (back to `automatic`: both
# rewritten again), alternately. The event time is taken right before `ip`
# runs; the last write is the hosts file's modification time (netconfd
# writes resolv.conf, then the hosts file, each to a new file renamed over
# the old). So each sample is: the kernel's notification, netconfd's facts
# and choice, and both atomic writes. Everything netconfd writes is in the
# bench's own directory (--config-dir, --resolv-conf, --hosts-file,
# --nsswitch-file, --systemctl); the namespace and directory are removed on
# exit, netconfd killed by its PID.
set -euo pipefail

runs=${1:-50}
bin=${NETCONF_BIN_DIR:-target/release}
[ -x "$bin/netconfd" ] || { echo "no $bin/netconfd: cargo build --release" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "needs root (network namespaces)" >&2; exit 1; }

work=$(mktemp -d /tmp/nc-bench-location.XXXXXX)
ns=ncbloc$$
daemon=
cleanup() {
    [ -n "$daemon" ] && kill "$daemon" 2>/dev/null && wait "$daemon" 2>/dev/null
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

ip netns add "$ns"
ip -n "$ns" link set lo up
ip -n "$ns" link add lan0 type veth peer name lan1
ip -n "$ns" link set lan1 up
ip -n "$ns" link set lan0 up
ip -n "$ns" addr add 198.51.100.1/24 dev lan0

mkdir -p "$work/etc" "$work/netconf/locations" "$work/hooks"
printf 'nameserver 198.51.100.53\n' > "$work/etc/resolv.conf"
printf '127.0.0.1 localhost\n' > "$work/etc/hosts"
printf 'hosts: files dns\n' > "$work/etc/nsswitch.conf"
printf '127.0.0.1 localhost\n203.0.113.80 printer.away\n' > "$work/netconf/hosts.away"
cat > "$work/netconf/locations/away" <<'EOF'
activation conditional-any
condition ip-address is 203.0.113.7
dns from static
nameserver 203.0.113.53
hosts-file hosts.away
EOF
: > "$work/interfaces"

ip netns exec "$ns" "$bin/netconfd" --socket "$work/ctl.sock" --run-dir "$work/run" \
    --state-dir "$work/lib" --interfaces "$work/interfaces" --hooks-dir "$work/hooks" \
    --config-dir "$work/netconf" --resolv-conf "$work/etc/resolv.conf" \
    --hosts-file "$work/etc/hosts" --nsswitch-file "$work/etc/nsswitch.conf" \
    --systemctl /bin/true --log-level warn 2>>"$work/netconfd.log" &
daemon=$!

ctl() { "$bin/netconfctl" --socket "$work/ctl.sock" "$@"; }
active() { ctl location list --json 2>/dev/null | python3 -c 'import json,sys; print((json.load(sys.stdin).get("active") or {}).get("name",""))' 2>/dev/null || true; }
until [ "$(active)" = automatic ]; do sleep 0.05; done

samples=()
for i in $(seq 1 "$runs"); do
    if [ $((i % 2)) = 1 ]; then verb=add; want=away; else verb=del; want=automatic; fi
    t0=$(date +%s.%N)
    ip -n "$ns" addr "$verb" 203.0.113.7/24 dev lan0
    until [ "$(active)" = "$want" ]; do sleep 0.01; done
    # The hosts file is the switch's last write; wait for its content
    # (the state file says `active` just after the writes).
    if [ "$want" = away ]; then
        until grep -q printer.away "$work/etc/hosts"; do sleep 0.005; done
    else
        until ! grep -q printer.away "$work/etc/hosts"; do sleep 0.005; done
    fi
    t1=$(stat -c %.9Y "$work/etc/hosts")
    samples+=("$(echo "($t1 - $t0) * 1000" | bc -l)")
done

printf '%s\n' "${samples[@]}" | sort -g > "$work/samples"
n=$(wc -l < "$work/samples")
median=$(awk -v n="$n" 'NR == int((n + 1) / 2) { m = $1 } NR == int(n / 2) + 1 { m2 = $1 } END { printf "%.2f", (n % 2) ? m : (m + m2) / 2 }' "$work/samples")
min=$(head -1 "$work/samples")
max=$(tail -1 "$work/samples")
printf 'location switch, event (ip addr add/del) to last write (hosts file): median %s ms over %d switches (min %.2f, max %.2f)\n' \
    "$median" "$n" "$min" "$max"
