#!/usr/bin/env bash
# Boot to network-online, side by side: netconf against Debian's ifupdown
# 0.8.41, on the same interfaces file (100 `inet static` interfaces and one
# `inet dhcp` interface answered by dnsmasq), each run in fresh network
# namespaces of its own (issue 7's benchmark; target: network-online at least
# 10x sooner).
#
#   cargo build --release && sudo bench/boot.sh [RUNS]
#
# What each side runs, as its systemd units do at boot (the time is from the
# first step's start to network-online.target, i.e. until every unit before
# it has finished):
#
# - Debian: networking.service (`ifup -a --read-environment`, with
#   /etc/default/networking's variables) and ifupdown-wait-online.service
#   (`/lib/ifupdown/wait-online.sh`) started together, as systemd starts them:
#   neither is ordered after the other. wait-online.sh checks `ifquery
#   --state` of every auto interface and sleeps a second between checks;
#   that is how Debian reaches network-online, and what is measured.
#   Debian's ifupdown is the package unpacked by scripts/fetch-debian-ifupdown
#   (target/debian-ifupdown/root), made to look installed in a private mount
#   namespace: overlays on /etc, /usr/sbin and /usr/lib with the package as
#   the upper lower layer (so /sbin/ifup, /etc/network/if-up.d/resolved,
#   /lib/ifupdown/wait-online.sh are Debian's), tmpfs on /run and
#   /var/lib/dhcp, the interfaces file as /etc/network/interfaces, an empty
#   /etc/resolv.conf of the overlay's for dhclient-script to write.
# - netconf: netconfd.service (netconfd, Type=notify: here
#   `start-stop-daemon --notify-await`, as the sysvinit script starts it,
#   which returns on READY=1), then networking.service (`ifup -a
#   --read-environment`), then netconf-wait-online.service (`netconfctl
#   wait-online`), in that order (each unit is ordered after the previous).
#
# Hook scripts (/etc/network/if-*.d), HOOKS=:
#   debian (default)  both sides run Debian's package's (`if-up.d/resolved`,
#                     which calls `systemctl is-enabled systemd-resolved`): a
#                     system that replaced ifupdown by netconf keeps them
#                     (ifupdown's conffiles stay) and netconfd runs them
#   none              neither side runs any
#   own               each side what its package installs: Debian its
#                     `resolved`, netconf none (as ../shared/bench does)
# Neither side runs `udevadm settle` (ifupdown-pre.service;
# networking.service's ExecStartPre= in netconf's).
#
# A run makes, for each side (order alternating between runs), a server
# namespace with dnsmasq on srv0 (198.18.0.1/24, leases .100-.199) and a
# client namespace with cli0 (its veth peer) and 100 veth pairs eN/eNp (the
# peers up), runs the side, then checks that the 101 interfaces are up with
# their addresses (198.19.N.1/24 on eN, a lease on cli0); a side that fails a
# step or the check fails the run. Then every process left in the run's
# namespaces (dhclient, netconfd, dnsmasq: all started by this run) is killed
# by PID and the namespaces are deleted. One untimed warm-up run comes first.
#
# Output: a table on stdout and in bench/results/boot-DATE.md (with every
# run's figures; boot-DATE-hooks-none.md, boot-DATE-hooks-own.md for the
# other HOOKS=). Needs root, iproute2, util-linux (unshare), dnsmasq,
# isc-dhcp-client, dpkg (start-stop-daemon), overlayfs.
set -euo pipefail
# $EPOCHREALTIME with a decimal point, whatever the caller's locale.
export LC_ALL=C

n=100
self=$(realpath "$0")
repo=$(cd "$(dirname "$self")/.." && pwd)
bin=${NETCONF_BIN_DIR:-$repo/target/release}
deb=${DEBIAN_IFUPDOWN_ROOT:-$repo/target/debian-ifupdown/root}
case $deb in /*) ;; *) deb=$repo/$deb ;; esac
hooks=${HOOKS:-debian}

# Milliseconds between two $EPOCHREALTIME values.
ms() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) * 1000 }'; }

# ---------------------------------------------------------------------------
# The two sides, each run inside the client namespace. They write
# "TOTAL_MS IFUP_MS" to WORK/result and exit non-zero if a step failed.

# Debian, in a private mount namespace (started by `unshare -m`).
debian_side() {
    local work=$1 t0 up_end wo_end up_rc wo_rc
    mount -t tmpfs -o mode=0755 boot-ovl "$work/ovl"
    local target layer name
    for target in /etc /usr/sbin /usr/lib; do
        case $target in
            /etc) layer=$deb/etc ;;
            /usr/sbin) layer=$deb/sbin ;;
            /usr/lib) layer=$deb/lib ;;
        esac
        name=${target//\//_}
        mkdir -p "$work/ovl/$name.up" "$work/ovl/$name.work"
        mount -t overlay "boot$name" \
            -o "lowerdir=$layer:$target,upperdir=$work/ovl/$name.up,workdir=$work/ovl/$name.work" \
            "$target"
    done
    mount -t tmpfs -o mode=0755 boot-run /run
    mkdir -p /run/network /run/lock
    mount -t tmpfs -o mode=0755 boot-dhcp /var/lib/dhcp
    # dhclient-script writes the overlay's resolv.conf, never the host's.
    rm -f /etc/resolv.conf
    : >/etc/resolv.conf
    mkdir -p /etc/network
    cp "$work/interfaces" /etc/network/interfaces
    if [ "$hooks" = none ]; then
        rm -f /etc/network/if-*.d/*
    fi
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    # networking.service's EnvironmentFile=.
    set -a
    # shellcheck source=/dev/null
    . /etc/default/networking
    set +a

    t0=$EPOCHREALTIME
    {
        rc=0
        ifup -a --read-environment >"$work/ifup.log" 2>&1 || rc=$?
        echo "$rc $EPOCHREALTIME" >"$work/ifup.end"
    } &
    {
        rc=0
        /lib/ifupdown/wait-online.sh >"$work/wait-online.log" 2>&1 || rc=$?
        echo "$rc $EPOCHREALTIME" >"$work/wait-online.end"
    } &
    wait
    read -r up_rc up_end <"$work/ifup.end"
    read -r wo_rc wo_end <"$work/wait-online.end"
    # network-online.target: once both units have finished.
    local end=$wo_end
    if awk -v a="$up_end" -v b="$wo_end" 'BEGIN { exit !(a > b) }'; then
        end=$up_end
    fi
    echo "$(ms "$t0" "$end") $(ms "$t0" "$up_end")" >"$work/result"
    [ "$up_rc" = 0 ] || { echo "debian: ifup -a exited $up_rc" >&2; return 1; }
    [ "$wo_rc" = 0 ] || { echo "debian: wait-online.sh exited $wo_rc" >&2; return 1; }
}

netconf_side() {
    local work=$1 t0 t_up t_end hooks_dir=$deb/etc/network
    [ "$hooks" = debian ] || hooks_dir=$work/no-hooks
    export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
    export NETCONF_SOCKET=$work/ctl.sock
    set -a
    # shellcheck source=/dev/null
    . "$repo/debian-integration/default/networking"
    set +a

    t0=$EPOCHREALTIME
    start-stop-daemon --start --quiet --background --make-pidfile \
        --pidfile "$work/netconfd.pid" --name netconfd --notify-await \
        --notify-timeout 30 --output "$work/netconfd.log" --exec "$bin/netconfd" -- \
        --dhcp-hook "$bin/netconf-dhcp-hook" --socket "$work/ctl.sock" \
        --run-dir "$work/run" --state-dir "$work/lib" --interfaces "$work/interfaces" \
        --hooks-dir "$hooks_dir" --resolv-conf "$work/resolv.conf" ||
        { echo "netconf: netconfd did not start" >&2; return 1; }
    "$bin/ifup" -a --read-environment >"$work/ifup.log" 2>&1 ||
        { echo "netconf: ifup -a exited $?" >&2; return 1; }
    t_up=$EPOCHREALTIME
    "$bin/netconfctl" wait-online --timeout "${WAIT_ONLINE_TIMEOUT:-300}" \
        >"$work/wait-online.log" 2>&1 ||
        { echo "netconf: wait-online exited $?" >&2; return 1; }
    t_end=$EPOCHREALTIME
    echo "$(ms "$t0" "$t_end") $(ms "$t0" "$t_up")" >"$work/result"
}

case ${1:-} in
    --debian-side) debian_side "$2"; exit ;;
    --netconf-side) netconf_side "$2"; exit ;;
esac

# ---------------------------------------------------------------------------
# The driver

runs=${1:-5}
case $runs in '' | *[!0-9]* | 0) echo "usage: bench/boot.sh [RUNS]" >&2; exit 2 ;; esac
[ "$(id -u)" = 0 ] || { echo "run as root (namespaces, mounts)" >&2; exit 1; }
for b in netconfd ifup netconfctl netconf-dhcp-hook; do
    [ -x "$bin/$b" ] || { echo "missing $bin/$b: cargo build --release first" >&2; exit 1; }
done
if [ ! -x "$deb/sbin/ifup" ]; then
    "$repo/scripts/fetch-debian-ifupdown"
fi
for tool in dnsmasq dhclient start-stop-daemon unshare; do
    command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
case $hooks in debian | none | own) ;; *) echo "HOOKS is debian, none or own" >&2; exit 2 ;; esac

top=$(mktemp -d /tmp/boot-bench.XXXXXX)
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

# The interfaces file both sides read.
{
    printf 'auto lo\niface lo inet loopback\n\nauto cli0\niface cli0 inet dhcp\n'
    for i in $(seq 0 $((n - 1))); do
        printf '\nauto e%d\niface e%d inet static\n    address 198.19.%d.1/24\n' "$i" "$i" "$i"
    done
} >"$top/interfaces"
{
    for i in $(seq 0 $((n - 1))); do
        echo "link add e$i type veth peer name e${i}p"
        echo "link set e${i}p up"
    done
} >"$top/links.batch"
{
    for i in $(seq 0 $((n - 1))); do
        echo "e$i 198.19.$i.1/24"
    done
} | sort >"$top/expected"

# Both namespaces, dnsmasq serving, the links; $work gets the files.
world() {
    local work=$1 tag=$2
    srv=ncboot-s-$$-$tag
    cli=ncboot-c-$$-$tag
    ip netns add "$srv"
    ip netns add "$cli"
    ip -n "$srv" link set lo up
    ip -n "$cli" link set lo up
    ip -n "$srv" link add srv0 type veth peer name cli0 netns "$cli"
    ip -n "$srv" addr add 198.18.0.1/24 dev srv0
    ip -n "$srv" link set srv0 up
    ip -n "$cli" -batch "$top/links.batch"
    mkdir -p "$work/ovl" "$work/run" "$work/lib" "$work/no-hooks"
    cp "$top/interfaces" "$work/interfaces"
    : >"$work/resolv.conf"
    ip netns exec "$srv" dnsmasq --no-daemon --conf-file=/dev/null --port=0 --no-resolv \
        --no-hosts --no-ping --bind-interfaces --interface=srv0 \
        --dhcp-range=198.18.0.100,198.18.0.199,255.255.255.0,1h \
        --dhcp-option=option:dns-server,198.18.0.53 \
        --dhcp-leasefile="$work/dnsmasq.leases" --pid-file="$work/dnsmasq.pid" \
        --log-facility=- \
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

# The 101 interfaces up, with their addresses; prints what is wrong.
verify() {
    local ns=$1 missing down
    missing=$(ip -n "$ns" -4 -o addr show | awk '{ print $2, $4 }' | sort |
        comm -23 "$top/expected" -)
    if ! ip -n "$ns" -4 -o addr show dev cli0 | grep -q 'inet 198\.18\.0\.1[0-9][0-9]/24 '; then
        missing="$missing${missing:+ }cli0 (no lease)"
    fi
    down=$(ip -n "$ns" -o link show | awk -F': ' '{ sub(/@.*/, "", $2); print $2, $3 }' |
        awk '$1 ~ /^(e[0-9]+|cli0)$/ && $2 !~ /[<,]UP[,>]/ { print $1 }')
    if [ -n "$missing$down" ]; then
        echo "not configured: ${missing:-} ${down:+down: $down}" | tr '\n' ' '
        echo
        return 1
    fi
}

# One side of one run: WORK/result holds its figures.
run_side() {
    local side=$1 work=$2 tag=$3 rc=0
    world "$work" "$tag"
    case $side in
        debian)
            ip netns exec "$cli" unshare -m --propagation private \
                "$self" --debian-side "$work" || rc=$?
            ;;
        netconf)
            ip netns exec "$cli" "$self" --netconf-side "$work" || rc=$?
            ;;
    esac
    if [ "$rc" = 0 ] && ! verify "$cli" >"$work/verify"; then
        echo "$side: $(cat "$work/verify")" >&2
        rc=1
    fi
    teardown
    if [ "$rc" != 0 ]; then
        echo "$side failed; its files are kept in $work:" >&2
        tail -n 5 "$work"/*.log >&2 || true
        trap - EXIT
        exit 1
    fi
}

median() { sort -n | awk '{ v[NR] = $1 } END { printf "%.1f", (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
minmax() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { printf "%.1f–%.1f", lo, hi }'; }
# A duration in ms, for people: "57.3 ms", "2.04 s".
human() { awk -v v="$1" 'BEGIN { if (v >= 1000) printf "%.2f s", v / 1000; else printf "%.1f ms", v }'; }
human_range() {
    local lo=${1%–*} hi=${1#*–}
    echo "$(human "$lo")–$(human "$hi")"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
started=$(date -u '+%Y-%m-%d %H:%M UTC')
: >"$top/debian.runs"
: >"$top/netconf.runs"
for r in $(seq 0 "$runs"); do
    if [ $((r % 2)) = 0 ]; then order="netconf debian"; else order="debian netconf"; fi
    for side in $order; do
        work=$top/run$r-$side
        mkdir -p "$work"
        run_side "$side" "$work" "$r$side"
        read -r total up <"$work/result"
        if [ "$r" = 0 ]; then
            printf 'warm-up  %-8s network-online %10s (ifup -a %s)\n' "$side" "$(human "$total")" "$(human "$up")"
        else
            echo "$total $up" >>"$top/$side.runs"
            printf 'run %-4s %-8s network-online %10s (ifup -a %s)\n' "$r" "$side" "$(human "$total")" "$(human "$up")"
        fi
    done
done
load_after=$(cut -d' ' -f1-3 /proc/loadavg)

stat_of() { awk -v c="$2" '{ print $c }' "$top/$1.runs" | "$3"; }
d_med=$(stat_of debian 1 median)
d_rng=$(stat_of debian 1 minmax)
d_up=$(stat_of debian 2 median)
n_med=$(stat_of netconf 1 median)
n_rng=$(stat_of netconf 1 minmax)
n_up=$(stat_of netconf 2 median)
ratio=$(awk -v d="$d_med" -v c="$n_med" 'BEGIN { printf "%.1f", d / c }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r >= 10) ? "met" : "NOT met" }')

table=$(
    echo "| $n static + 1 DHCP interfaces, $runs runs | network-online: median (min–max) | of which \`ifup -a\` returned (median) |"
    echo "|---|---|---|"
    echo "| Debian ifupdown 0.8.41: networking.service + ifupdown-wait-online.service | $(human "$d_med") ($(human_range "$d_rng")) | $(human "$d_up") |"
    echo "| netconf: netconfd + networking.service + netconf-wait-online.service | $(human "$n_med") ($(human_range "$n_rng")) | $(human "$n_up") |"
    echo "| **Debian / netconf** | **${ratio}x sooner** (target 10x: $verdict) | |"
)
echo
echo "$table"

suffix=
[ "$hooks" = debian ] || suffix=-hooks-$hooks
out=$repo/bench/results/boot-$(date -u +%F)$suffix.md
mkdir -p "$(dirname "$out")"
{
    echo "# Boot to network-online: netconf vs Debian ifupdown 0.8.41"
    echo
    echo "\`sudo ${suffix:+HOOKS=$hooks }bench/boot.sh $runs\`, $started, kernel $(uname -r), $(nproc) CPUs,"
    echo "load average before $load_before, after $load_after."
    echo
    echo "$table"
    echo
    echo "Every run, milliseconds (network-online, ifup -a returned):"
    echo
    echo "| run | Debian | netconf |"
    echo "|---|---|---|"
    paste "$top/debian.runs" "$top/netconf.runs" |
        awk '{ printf "| %d | %s, %s | %s, %s |\n", NR, $1, $2, $3, $4 }'
    echo
    echo "Debian's ifupdown-wait-online.service is not ordered after networking.service:"
    echo "systemd starts both at once, and wait-online.sh checks \`ifquery --state\` of"
    echo "every auto interface, sleeping one second between checks, so network-online"
    echo "comes at the first check after \`ifup -a\` is done. netconf's wait-online is"
    echo "ordered after networking.service and answered by netconfd the moment the last"
    echo "interface is configured."
    echo
    case $hooks in
        debian) echo "Hook scripts: both sides run Debian's \`/etc/network/if-up.d/resolved\`." ;;
        none) echo "Hook scripts: none on either side." ;;
        own) echo "Hook scripts: Debian its \`if-up.d/resolved\`, netconf none." ;;
    esac
} >"$out"
echo
echo "written to ${out#"$repo"/}"
