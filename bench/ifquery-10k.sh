#!/usr/bin/env bash
# Parse + `ifquery -l` of a generated file of 10,000 stanzas: netconf's
# ifquery against Debian ifupdown 0.8.41's, side by side in one run, inside a
# network namespace of its own (ifquery reads the namespace's interface list).
#
#   cargo build --release && sudo bench/ifquery-10k.sh [RUNS] [STANZAS]
#
# Prints the median and min-max wall time of each, peak RSS, and the ratio.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-21}
stanzas=${2:-10000}

if [ -z "${NETCONF_BENCH_IN_NS:-}" ]; then
    scripts/fetch-debian-ifupdown >/dev/null
    [ -x target/release/ifquery ] || { echo "build first: cargo build --release" >&2; exit 1; }
    exec env NETCONF_BENCH_IN_NS=1 unshare --net "$0" "$@"
fi

debian="${DEBIAN_IFUPDOWN_ROOT:-$PWD/target/debian-ifupdown/root}/sbin/ifquery"
ours="$PWD/target/release/ifquery"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Four kinds of stanza in turn, each interface also marked auto.
awk -v n="$stanzas" 'BEGIN {
    for (i = 0; i < n; i++) {
        name = "e" i
        printf "auto %s\n", name
        k = i % 4
        if (k == 0) {
            printf "iface %s inet static\n    address 198.18.%d.%d/24\n    gateway 198.18.%d.1\n    mtu 1500\n    post-up echo up %s\n\n", name, int(i / 250) % 256, i % 250 + 2, int(i / 250) % 256, name
        } else if (k == 1) {
            printf "iface %s inet dhcp\n    metric %d\n\n", name, i % 100
        } else if (k == 2) {
            printf "iface %s inet6 static\n    address 2001:db8:%x::1/64\n    dad-attempts 0\n\n", name, i
        } else {
            printf "iface %s inet manual\n    pre-up true\n\n", name
        }
    }
}' > "$work/interfaces"

# Same output first: a benchmark of two programs that disagree means nothing.
"$debian" --state-dir="$work/state" -i "$work/interfaces" -l > "$work/debian.out"
"$ours" -i "$work/interfaces" -l > "$work/ours.out"
cmp -s "$work/debian.out" "$work/ours.out" || { echo "outputs differ" >&2; exit 1; }

now_ns() { date +%s%N; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)], v[1], v[NR] }'; }

: > "$work/debian.times"
: > "$work/ours.times"
for _ in $(seq "$runs"); do
    # Alternate, so that a noisy moment hurts both alike.
    t0=$(now_ns); "$debian" --state-dir="$work/state" -i "$work/interfaces" -l >/dev/null; t1=$(now_ns)
    echo $(( (t1 - t0) / 1000 )) >> "$work/debian.times"
    t0=$(now_ns); "$ours" -i "$work/interfaces" -l >/dev/null; t1=$(now_ns)
    echo $(( (t1 - t0) / 1000 )) >> "$work/ours.times"
done

rss() {
    if [ -x /usr/bin/time ]; then
        /usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -n1
    else
        echo "?"
    fi
}

read -r d_med d_min d_max < <(median < "$work/debian.times")
read -r o_med o_min o_max < <(median < "$work/ours.times")
d_rss=$(rss "$debian" --state-dir="$work/state" -i "$work/interfaces" -l)
o_rss=$(rss "$ours" -i "$work/interfaces" -l)
size=$(wc -c < "$work/interfaces")

echo "ifquery -l over $stanzas stanzas ($((size / 1024)) KiB), $runs runs each, $(uname -r), $(nproc) cores"
echo
echo "| ifquery | median | min-max | peak RSS |"
echo "|---|---|---|---|"
row() { awk -v n="$1" -v a="$2" -v b="$3" -v c="$4" -v r="$5" 'BEGIN { printf "| %s | %.1f ms | %.1f-%.1f ms | %s KiB |\n", n, a / 1000, b / 1000, c / 1000, r }'; }
row "Debian ifupdown 0.8.41" "$d_med" "$d_min" "$d_max" "$d_rss"
row "netconf" "$o_med" "$o_min" "$o_max" "$o_rss"
echo
awk -v d="$d_med" -v o="$o_med" 'BEGIN { printf "netconf is %.1fx faster (ratio of medians)\n", d / o }'
