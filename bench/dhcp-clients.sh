#!/usr/bin/env bash
# The three DHCP clients side by side: how long `ifup` and `ifdown` of one
# `inet dhcp` interface take with ISC dhclient, dhcpcd and busybox udhcpc,
# run by netconf (`dhcp-client CLIENT`) and by Debian's ifupdown 0.8.41 with
# the same client, and whether `ifdown` released the lease (dnsmasq logged a
# DHCPRELEASE).
#
#   cargo build --release && sudo bench/dhcp-clients.sh [RUNS]
#
# RUNS ifup/ifdown cycles per client and side (default 10); CLIENTS="dhcpcd"
# (say) measures only some. Needs root (namespaces, mounts), iproute2,
# util-linux (unshare), dnsmasq, isc-dhcp-client, dhcpcd-base, udhcpc,
# overlayfs, and Debian's ifupdown unpacked by scripts/fetch-debian-ifupdown
# (run if it is missing).
#
# For each client and each side, fresh namespaces: dnsmasq (--log-dhcp) on
# srv0 (198.18.0.1/24, leases .100-.199 for 1 h, router and DNS) in a server
# namespace, cli0 (its veth peer, down) in a client namespace, where the
# side runs:
#
# - netconf: netconfd from target/release (an empty hooks directory, its
#   resolv.conf a file of the run's), and the file `iface cli0 inet dhcp` /
#   `dhcp-client CLIENT`; `ifup cli0`, `ifdown cli0` through its socket.
# - Debian: `ifup -i FILE cli0` / `ifdown -i FILE cli0` on the same file
#   without `dhcp-client`, in a private mount (and UTS) namespace made to
#   look like an installed system that has only CLIENT: tmpfs on /run,
#   /var/lib/dhcp and /var/lib/dhcpcd, /etc a writable overlay whose upper
#   layer is the run's (so dhclient-script and dhcpcd's hooks write an empty
#   /etc/resolv.conf of ours), /etc/network empty if-*.d directories (so
#   run-parts runs, and no hook of the machine), and the other two clients
#   laid over by non-executable files (a read-only overlay on each directory
#   of ifupdown's search path that holds one): `inet dhcp` runs the first of
#   dhclient, udhcpc, dhcpcd it finds executable. Debian's ifupdown runs
#   dhclient with dhclient-script (and the machine's /etc/dhcp hooks), udhcpc
#   with busybox's /etc/udhcpc/default.script, dhcpcd with its own
#   dhcpcd-run-hooks.
#
# A cycle: `ifup` is timed from its start until it has returned AND cli0
# has an address from dnsmasq's range; `ifdown` until it has returned. Then,
# untimed: up to 2 s for dnsmasq to log the cycle's DHCPRELEASE, and up to
# 5 s for every client process to be gone before the next cycle. A failed
# ifup or ifdown, or no lease, fails the run. On exit every process left in
# the run's namespaces (all started by it) is killed by PID and the
# namespaces and files are removed.
#
# Output: a markdown table on stdout, medians (min–max) over the cycles,
# and every cycle's figures.
set -euo pipefail
# $EPOCHREALTIME with a decimal point, whatever the caller's locale.
export LC_ALL=C

self=$(realpath "$0")
repo=$(cd "$(dirname "$self")/.." && pwd)
bin=${NETCONF_BIN_DIR:-$repo/target/release}
deb=${DEBIAN_IFUPDOWN_ROOT:-$repo/target/debian-ifupdown/root}
case $deb in /*) ;; *) deb=$repo/$deb ;; esac
# Where ifupdown looks for the clients (EXECUTE_LOCAL_PATHLIST), and the
# PATH it runs them with.
search_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# Milliseconds between two $EPOCHREALTIME values.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# ---------------------------------------------------------------------------
# The cycles, run inside the client namespace by either side, which defines
# up_cmd and down_cmd. Each cycle appends "UP_MS DOWN_MS RELEASED" to
# WORK/runs.

releases() { grep -c 'DHCPRELEASE(srv0)' "$1/dnsmasq.log" || true; }
has_lease() { ip -4 -o addr show dev cli0 | grep -q 'inet 198\.18\.0\.1[0-9][0-9]/24 '; }

# The DHCP clients running in this network namespace (any of the three).
clients_left() {
    local me p exe
    me=$(readlink /proc/self/ns/net)
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/ns/net" 2>/dev/null)" = "$me" ] || continue
        exe=$(readlink "$p/exe" 2>/dev/null) || continue
        case ${exe##*/} in dhclient | dhcpcd | busybox) echo "${p#/proc/}" ;; esac
    done
}

cycles() {
    local work=$1 n=$2 i t0 t1 t2 before rel
    for i in $(seq "$n"); do
        before=$(releases "$work")
        t0=$EPOCHREALTIME
        up_cmd >>"$work/up.log" 2>&1 || { echo "cycle $i: ifup failed" >&2; return 1; }
        for _ in $(seq 5000); do has_lease && break; sleep 0.002; done
        has_lease || { echo "cycle $i: no lease on cli0 after ifup" >&2; return 1; }
        t1=$EPOCHREALTIME
        down_cmd >>"$work/down.log" 2>&1 || { echo "cycle $i: ifdown failed" >&2; return 1; }
        t2=$EPOCHREALTIME
        rel=no
        for _ in $(seq 200); do
            if [ "$(releases "$work")" -gt "$before" ]; then rel=yes; break; fi
            sleep 0.01
        done
        for _ in $(seq 500); do
            [ -z "$(clients_left)" ] && break
            sleep 0.01
        done
        echo "$(ms "$t0" "$t1") $(ms "$t1" "$t2") $rel" >>"$work/runs"
    done
}

# Debian, in a private mount and UTS namespace (`unshare -m -u`).
debian_side() {
    local client=$1 work=$2 n=$3 other d real hidden=""
    mount -t tmpfs -o mode=0755 dhcpbench-ovl "$work/ovl"
    mkdir -p "$work/ovl/etc.up" "$work/ovl/etc.work" "$work/ovl/hide"
    for d in if-pre-up.d if-up.d if-down.d if-post-down.d; do
        mkdir -p "$work/ovl/network/$d"
    done
    # The directories of ifupdown's search path that hold another client.
    for other in dhclient udhcpc dhcpcd; do
        [ "$other" = "$client" ] && continue
        : >"$work/ovl/hide/$other"
        chmod 0644 "$work/ovl/hide/$other"
        for d in ${search_path//:/ }; do
            [ -e "$d/$other" ] || continue
            real=$(readlink -f "$d")
            case " $hidden " in *" $real "*) ;; *) hidden="$hidden $real" ;; esac
        done
    done
    for real in $hidden; do
        mount -t overlay dhcpbench-hide -o "lowerdir=$work/ovl/hide:$real" "$real"
    done
    mount -t overlay dhcpbench-etc \
        -o "lowerdir=/etc,upperdir=$work/ovl/etc.up,workdir=$work/ovl/etc.work" /etc
    rm -f /etc/resolv.conf
    : >/etc/resolv.conf
    mkdir -p /etc/network
    mount --bind "$work/ovl/network" /etc/network
    mount -t tmpfs -o mode=0755 dhcpbench-run /run
    mkdir -p /run/network /run/lock
    for d in /var/lib/dhcp /var/lib/dhcpcd; do
        if [ -d "$d" ]; then mount -t tmpfs -o mode=0755 dhcpbench-lib "$d"; fi
    done
    export PATH=$search_path
    up_cmd() { "$deb/sbin/ifup" -i "$work/interfaces" --state-dir "$work/state" cli0; }
    down_cmd() { "$deb/sbin/ifdown" -i "$work/interfaces" --state-dir "$work/state" cli0; }
    cycles "$work" "$n"
}

netconf_side() {
    local work=$1 n=$2 daemon rc=0
    export PATH=$search_path
    "$bin/netconfd" --socket "$work/ctl.sock" --run-dir "$work/run" --state-dir "$work/lib" \
        --interfaces "$work/interfaces" --hooks-dir "$work/hooks" \
        --resolv-conf "$work/resolv.conf" --dhcp-hook "$bin/netconf-dhcp-hook" \
        2>"$work/netconfd.log" &
    daemon=$!
    for _ in $(seq 500); do
        "$bin/netconfctl" --socket "$work/ctl.sock" status >/dev/null 2>&1 && break
        kill -0 "$daemon" 2>/dev/null || { echo "netconfd exited" >&2; return 1; }
        sleep 0.01
    done
    up_cmd() { "$bin/ifup" --socket "$work/ctl.sock" cli0; }
    down_cmd() { "$bin/ifdown" --socket "$work/ctl.sock" cli0; }
    cycles "$work" "$n" || rc=$?
    kill "$daemon"
    wait "$daemon" || true
    return "$rc"
}

case ${1:-} in
    --debian-side) debian_side "$2" "$3" "$4"; exit ;;
    --netconf-side) netconf_side "$2" "$3"; exit ;;
esac

# ---------------------------------------------------------------------------
# The driver

runs=${1:-10}
case $runs in '' | *[!0-9]* | 0) echo "usage: bench/dhcp-clients.sh [RUNS]" >&2; exit 2 ;; esac
clients=${CLIENTS:-dhclient dhcpcd udhcpc}
[ "$(id -u)" = 0 ] || { echo "run as root (namespaces, mounts)" >&2; exit 1; }
for b in netconfd ifup ifdown netconfctl netconf-dhcp-hook; do
    [ -x "$bin/$b" ] || { echo "missing $bin/$b: cargo build --release first" >&2; exit 1; }
done
if [ ! -x "$deb/sbin/ifup" ]; then
    "$repo/scripts/fetch-debian-ifupdown"
fi
for tool in dnsmasq unshare run-parts; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
for c in $clients; do
    case $c in
        dhclient) [ -x /sbin/dhclient ] || { echo "missing /sbin/dhclient (isc-dhcp-client)" >&2; exit 1; } ;;
        dhcpcd) [ -x /usr/sbin/dhcpcd ] || { echo "missing /usr/sbin/dhcpcd (dhcpcd-base)" >&2; exit 1; } ;;
        udhcpc) [ -x /sbin/udhcpc ] && [ -f /etc/udhcpc/default.script ] ||
            { echo "missing /sbin/udhcpc or its default.script (udhcpc)" >&2; exit 1; } ;;
        *) echo "unknown client $c (dhclient, dhcpcd, udhcpc)" >&2; exit 2 ;;
    esac
done

top=$(mktemp -d /tmp/dhcp-clients-bench.XXXXXX)
chmod 0755 "$top"
cli=
srv=
dnsmasq_pid=

# Every process in the run's namespaces was started by this run: kill them
# by PID, then the namespaces go.
teardown() {
    local ns pid
    if [ -n "$dnsmasq_pid" ]; then
        kill "$dnsmasq_pid" 2>/dev/null || true
        wait "$dnsmasq_pid" 2>/dev/null || true
        dnsmasq_pid=
    fi
    for ns in $cli $srv; do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do
            kill -9 "$pid" 2>/dev/null || true
        done
    done
    for ns in $cli $srv; do
        for _ in $(seq 100); do
            [ -z "$(ip netns pids "$ns" 2>/dev/null)" ] && break
            sleep 0.02
        done
        ip netns del "$ns" 2>/dev/null || true
    done
    cli=
    srv=
}
cleanup() {
    teardown
    rm -rf "$top"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Both namespaces, dnsmasq serving; WORK gets the files.
world() {
    local work=$1 tag=$2
    srv=ncdhcp-s-$$-$tag
    cli=ncdhcp-c-$$-$tag
    ip netns add "$srv"
    ip netns add "$cli"
    ip -n "$srv" link set lo up
    ip -n "$cli" link set lo up
    ip -n "$srv" link add srv0 type veth peer name cli0 netns "$cli"
    ip -n "$srv" addr add 198.18.0.1/24 dev srv0
    ip -n "$srv" link set srv0 up
    mkdir -p "$work/ovl" "$work/state" "$work/run" "$work/lib"
    for d in if-pre-up.d if-up.d if-down.d if-post-down.d; do
        mkdir -p "$work/hooks/$d"
    done
    : >"$work/resolv.conf"
    : >"$work/runs"
    ip netns exec "$srv" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-resolv \
        --no-hosts --no-ping --bind-interfaces --interface=srv0 --log-dhcp --log-facility=- \
        --dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h \
        --dhcp-option=option:dns-server,198.18.0.53 \
        --dhcp-leasefile="$work/dnsmasq.leases" --pid-file="$work/dnsmasq.pid" \
        >"$work/dnsmasq.log" 2>&1 &
    dnsmasq_pid=$!
    for _ in $(seq 200); do
        grep -qs 'IP range' "$work/dnsmasq.log" && return 0
        kill -0 "$dnsmasq_pid" 2>/dev/null || break
        sleep 0.02
    done
    echo "dnsmasq did not start:" >&2
    cat "$work/dnsmasq.log" >&2
    return 1
}

run_side() {
    local client=$1 side=$2 work=$3 rc=0
    mkdir -p "$work"
    world "$work" "$client-$side"
    case $side in
        debian)
            printf 'iface cli0 inet dhcp\n' >"$work/interfaces"
            ip netns exec "$cli" unshare -m -u --propagation private \
                "$self" --debian-side "$client" "$work" "$runs" || rc=$?
            ;;
        netconf)
            printf 'iface cli0 inet dhcp\n    dhcp-client %s\n' "$client" >"$work/interfaces"
            ip netns exec "$cli" "$self" --netconf-side "$work" "$runs" || rc=$?
            ;;
    esac
    teardown
    if [ "$rc" != 0 ]; then
        echo "$client, $side: failed; its files are kept in $work:" >&2
        tail -n 5 "$work"/*.log >&2 || true
        trap - EXIT
        exit 1
    fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f–%.1f", lo, hi }'; }
# "MEDIAN (MIN–MAX)" of column COL of FILE, in ms.
cell() { echo "$(awk -v c="$2" '{ print $c }' "$1" | median) ($(awk -v c="$2" '{ print $c }' "$1" | minmax))"; }
med_of() { awk -v c="$2" '{ print $c }' "$1" | median; }
ratio() { awk -v d="$1" -v c="$2" 'BEGIN { printf "%.1fx", d / c }'; }

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
for client in $clients; do
    for side in netconf debian; do
        echo "$client, $side: $runs cycles" >&2
        run_side "$client" "$side" "$top/$client-$side"
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

echo "\`sudo bench/dhcp-clients.sh $runs\`, $started, kernel $(uname -r), $(nproc) CPUs,"
echo "load average before $load_before, after $load_after; medians (min–max) of $runs cycles."
echo
echo "| client | \`ifup\` netconf, ms | \`ifup\` Debian, ms | Debian / netconf | \`ifdown\` netconf, ms | \`ifdown\` Debian, ms | Debian / netconf | DHCPRELEASE netconf | DHCPRELEASE Debian |"
echo "|---|---|---|---|---|---|---|---|---|"
for client in $clients; do
    n=$top/$client-netconf/runs
    d=$top/$client-debian/runs
    echo "| $client | $(cell "$n" 1) | $(cell "$d" 1) | $(ratio "$(med_of "$d" 1)" "$(med_of "$n" 1)") |" \
        "$(cell "$n" 2) | $(cell "$d" 2) | $(ratio "$(med_of "$d" 2)" "$(med_of "$n" 2)") |" \
        "$(grep -c ' yes$' "$n" || true)/$runs | $(grep -c ' yes$' "$d" || true)/$runs |"
done
echo
echo "Every cycle (ifup ms, ifdown ms, DHCPRELEASE seen):"
echo
for client in $clients; do
    for side in netconf debian; do
        echo "- $client, $side: $(awk '{ printf "%s%s/%s/%s", (NR > 1 ? "; " : ""), $1, $2, $3 }' "$top/$client-$side/runs")"
    done
done
