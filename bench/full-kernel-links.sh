#!/usr/bin/env bash
# Link kinds of a full kernel, side by side: netconf (`ifup -a` / `ifdown -a`
# through netconfd) against Debian's ifupdown 0.8.41 with ifenslave's and
# vlan's own hook scripts, on the same interfaces file, each in fresh network
# namespaces of its own. It needs the bonding and 8021q modules, so it runs
# in the VM of the test bed (docs/TESTING.md), both sides in the same boot:
#
#   cargo build --release && scripts/fetch-debian-ifupdown &&
#   scripts/fetch-debian-ifenslave-vlan &&
#   sudo scripts/vm-run bench/full-kernel-links.sh [RUNS] [SCENARIO...]
#
# Scenarios (default: all): `bond-10` (10 active-backup bonds with miimon,
# each over 2 dummies, an address each), `vlan-100` (100 VLANs eth0.1 to
# eth0.100 on a dummy eth0, an address each). A scenario is a function
# `scenario_NAME` below writing $work/interfaces and $work/setup (`ip
# -batch` lines of the links it finds): adding `tunnel-100` is adding one.
#
# Debian's side runs as in the differential test
# (tests/tests/full_kernel/bonds_vlans_differential.rs): in a mount
# namespace of its own with Debian's ifup/ifdown/ifquery over /sbin, an
# /etc/network holding the file and nothing in if-*.d but ifenslave's and
# vlan's scripts, and a /run/network of the run's (ifenslave's hook calls
# ifup and ifquery itself). netconf's netconfd runs with an empty hooks
# directory: it makes the links itself. Times are from before the command
# to its exit, in ms, each side's runs alternating; the ratio is Debian's
# median over netconf's. Each run checks that the links are there after
# `ifup -a` (and gone after `ifdown -a`); a side that fails fails the run.
# Under the VM's emulation everything is several times slower than on
# hardware; the ratio is what compares.
set -euo pipefail
export LC_ALL=C
cd "$(dirname "$0")/.."
runs=3
if [[ ${1:-} =~ ^[0-9]+$ ]]; then
    runs=$1
    shift
fi
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(bond-10 vlan-100)
bin=${NETCONF_BIN_DIR:-$PWD/target/release}
debian=${DEBIAN_IFUPDOWN_ROOT:-$PWD/target/debian-ifupdown/root}
ifenslave=${DEBIAN_IFENSLAVE_ROOT:-$PWD/target/debian-ifenslave/root}
vlan=${DEBIAN_VLAN_ROOT:-$PWD/target/debian-vlan/root}
for b in netconfd ifup ifdown; do
    [ -x "$bin/$b" ] || { echo "build first: cargo build --release (or NETCONF_BIN_DIR)" >&2; exit 1; }
done
[ -x "$debian/sbin/ifup" ] || { echo "run scripts/fetch-debian-ifupdown first" >&2; exit 1; }
[ -e "$ifenslave/etc/network/if-pre-up.d/ifenslave" ] && [ -e "$vlan/etc/network/if-pre-up.d/vlan" ] ||
    { echo "run scripts/fetch-debian-ifenslave-vlan first" >&2; exit 1; }
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }

work=$(mktemp -d)
ns=
daemon=
cleanup() {
    if [ -n "$daemon" ]; then kill "$daemon" 2>/dev/null || true; wait "$daemon" 2>/dev/null || true; fi
    [ -z "$ns" ] || ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

# ---------------------------------------------------------------- scenarios
# Each writes $work/interfaces, $work/setup, and $work/made (the links
# `ifup -a` must have made, one a line).

scenario_bond-10() {
    : >"$work/setup"
    : >"$work/made"
    : >"$work/interfaces"
    for i in $(seq 0 9); do
        printf 'link add d%da type dummy\nlink add d%db type dummy\n' "$i" "$i" >>"$work/setup"
        echo "b$i" >>"$work/made"
        cat >>"$work/interfaces" <<EOF
auto b$i
iface b$i inet static
    address 198.18.$i.1/24
    bond-slaves d${i}a d${i}b
    bond-mode active-backup
    bond-miimon 100

EOF
    done
}

scenario_vlan-100() {
    echo "link add eth0 type dummy" >"$work/setup"
    : >"$work/made"
    : >"$work/interfaces"
    for i in $(seq 1 100); do
        echo "eth0.$i" >>"$work/made"
        cat >>"$work/interfaces" <<EOF
auto eth0.$i
iface eth0.$i inet static
    address 198.18.$i.1/24

EOF
    done
}

# ---------------------------------------------------------------- sides

ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

fresh_ns() {
    [ -z "$ns" ] || ip netns del "$ns"
    ns=ncbench-links-$$-$RANDOM
    ip netns add "$ns"
    ip -n "$ns" link set lo up
    ip -n "$ns" -batch "$work/setup"
}

# Every link of $work/made there ($1 = yes) or none of them ($1 = no).
check_links() {
    local link
    while read -r link; do
        if ip -n "$ns" link show dev "$link" >/dev/null 2>&1; then
            [ "$1" = yes ] || { echo "$side: $link is still there after ifdown -a" >&2; exit 1; }
        else
            [ "$1" = no ] || { echo "$side: $link is missing after ifup -a" >&2; exit 1; }
        fi
    done <"$work/made"
}

# Debian's `ifup ARGS` or `ifdown ARGS`, in its view.
debian_run() {
    local view=$work/debian
    unshare --mount --propagation private -- /bin/sh -c '
        set -e
        t=$(readlink -f /sbin)
        mount -t overlay overlay -o lowerdir="$1/sbin:$t" "$t"
        mount --bind "$2/network" /etc/network
        mkdir -p /run/network
        mount --bind "$2/state" /run/network
        shift 2
        exec "$@"' sh "$debian" "$view" \
        env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        ip netns exec "$ns" /sbin/"$@" >>"$work/debian.log" 2>&1
}

# One run of Debian's side: prints "UP DOWN" in ms.
run_debian() {
    local view=$work/debian t up down
    rm -rf "$view"
    mkdir -p "$view/state" "$view/network"/if-{pre-up,up,down,post-down}.d
    cp "$ifenslave"/etc/network/if-pre-up.d/ifenslave "$view/network/if-pre-up.d/"
    cp "$ifenslave"/etc/network/if-up.d/ifenslave "$view/network/if-up.d/"
    cp "$ifenslave"/etc/network/if-post-down.d/ifenslave "$view/network/if-post-down.d/"
    cp "$vlan"/etc/network/if-pre-up.d/vlan "$view/network/if-pre-up.d/"
    cp "$vlan"/etc/network/if-post-down.d/vlan "$view/network/if-post-down.d/"
    cp "$work/interfaces" "$view/network/interfaces"
    fresh_ns
    t=$(date +%s%N)
    debian_run ifup -a || { echo "Debian's ifup -a failed: $work/debian.log" >&2; cat "$work/debian.log" >&2; exit 1; }
    up=$(ms_since "$t")
    check_links yes
    t=$(date +%s%N)
    debian_run ifdown -a || { echo "Debian's ifdown -a failed" >&2; cat "$work/debian.log" >&2; exit 1; }
    down=$(ms_since "$t")
    check_links no
    echo "$up $down"
}

# One run of netconf's side: prints "UP DOWN" in ms.
run_netconf() {
    local d=$work/netconf t up down
    rm -rf "$d"
    mkdir -p "$d/hooks" "$d/run" "$d/lib"
    fresh_ns
    ip netns exec "$ns" "$bin/netconfd" --socket "$d/ctl.sock" --run-dir "$d/run" \
        --state-dir "$d/lib" --interfaces "$work/interfaces" --hooks-dir "$d/hooks" \
        2>>"$work/netconfd.log" &
    daemon=$!
    while [ ! -S "$d/ctl.sock" ]; do sleep 0.05; done
    t=$(date +%s%N)
    ip netns exec "$ns" "$bin/ifup" --socket "$d/ctl.sock" -a >>"$work/netconf.log" 2>&1 ||
        { echo "netconf's ifup -a failed" >&2; cat "$work/netconf.log" >&2; exit 1; }
    up=$(ms_since "$t")
    check_links yes
    t=$(date +%s%N)
    ip netns exec "$ns" "$bin/ifdown" --socket "$d/ctl.sock" -a >>"$work/netconf.log" 2>&1 ||
        { echo "netconf's ifdown -a failed" >&2; cat "$work/netconf.log" >&2; exit 1; }
    down=$(ms_since "$t")
    check_links no
    kill "$daemon"
    wait "$daemon" 2>/dev/null || true
    daemon=
    echo "$up $down"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

printf '%-10s %-8s %10s %10s\n' scenario side "ifup -a" "ifdown -a"
for scenario in "${scenarios[@]}"; do
    declare -F "scenario_$scenario" >/dev/null ||
        { echo "no scenario $scenario (known: $(declare -F | sed -n 's/.*scenario_//p' | tr '\n' ' '))" >&2; exit 1; }
    "scenario_$scenario"
    : >"$work/debian.times"
    : >"$work/netconf.times"
    for run in $(seq 1 "$runs"); do
        # Alternate which side goes first.
        if [ $((run % 2)) = 1 ]; then order="netconf debian"; else order="debian netconf"; fi
        for side in $order; do
            "run_$side" >>"$work/$side.times"
        done
    done
    for side in debian netconf; do
        up=$(cut -d' ' -f1 "$work/$side.times" | median)
        down=$(cut -d' ' -f2 "$work/$side.times" | median)
        printf '%-10s %-8s %8s ms %8s ms\n' "$scenario" "$side" "$up" "$down"
        eval "${side}_up=$up ${side}_down=$down"
    done
    # shellcheck disable=SC2154 # set by the eval above
    awk -v s="$scenario" -v du="$debian_up" -v dd="$debian_down" -v nu="$netconf_up" -v nd="$netconf_down" \
        'BEGIN { printf "%-10s %-8s %9.1fx %9.1fx\n", s, "ratio", du / (nu ? nu : 1), dd / (nd ? nd : 1) }'
done
