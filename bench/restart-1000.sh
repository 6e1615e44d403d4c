#!/usr/bin/env bash
# netconfd with 1000 configured interfaces: how long a restart takes until
# it answers again (kill -9, then start to first reply to a ping), how many
# netlink changes the restart makes (must be 0: counted by `ip monitor` in
# the namespace), and the daemon's memory (VmRSS) after `ifup -a` and after
# the restart. Also the latency of an external change: `ip addr add` until
# `netconfctl status` shows it.
#
#   cargo build --release && sudo bench/restart-1000.sh [INTERFACES] [RESTARTS]
#
# Everything runs in a network namespace of its own, removed on exit.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
restarts=${2:-10}
bin=$PWD/target/release
for b in netconfd ifup netconfctl; do
    [ -x "$bin/$b" ] || { echo "build first: cargo build --release" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (network namespaces)" >&2; exit 1; }

ns=ncbench-restart-$$
work=$(mktemp -d)
daemon=
monitor=
cleanup() {
    for p in $monitor $daemon; do kill -9 "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT
ip netns add "$ns"
in_ns() { ip netns exec "$ns" "$@"; }
# No duplicate address detection: link-local addresses are final at once,
# so the kernel is quiet when the restarts are counted.
in_ns sysctl -qw net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_dad=0

# n veth pairs: the b-side is up and unconfigured, the a-side configured by
# netconf with an address from 198.18.0.0/15 (two /24s per 256 interfaces).
{
    for i in $(seq 0 $((n - 1))); do
        echo "link add a$i type veth peer name b$i"
        echo "link set b$i up"
    done
} > "$work/links.batch"
ip -n "$ns" -batch "$work/links.batch"
{
    for i in $(seq 0 $((n - 1))); do
        echo "auto a$i"
        echo "iface a$i inet static"
        echo "    address 198.$((18 + i / 65536)).$((i / 256 % 256)).$((i % 256 + 0))/32"
        echo
    done
} > "$work/interfaces"
mkdir -p "$work/hooks"

start_daemon() {
    ip netns exec "$ns" "$bin/netconfd" --socket "$work/ctl.sock" --run-dir "$work/run" \
        --state-dir "$work/lib" --interfaces "$work/interfaces" --hooks-dir "$work/hooks" \
        --log-level debug 2>>"$work/netconfd.log" &
    daemon=$!
}
ping_ms() {
    # From $1 (date +%s%N, taken before the daemon was started) to its first
    # answer, in ms.
    python3 - "$work/ctl.sock" "$1" <<'EOF'
import json, socket, sys, time
t0 = int(sys.argv[2]) / 1e9
while True:
    try:
        s = socket.socket(socket.AF_UNIX)
        s.connect(sys.argv[1])
        s.sendall(b'{"version":1,"id":1,"op":"ping"}\n')
        if s.makefile().readline():
            break
    except OSError:
        time.sleep(0.0005)
print(f"{(time.time() - t0) * 1000:.1f}")
EOF
}
rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$daemon/status"; }

start_daemon
ping_ms "$(date +%s%N)" >/dev/null
t0=$(date +%s.%N)
in_ns "$bin/ifup" --socket "$work/ctl.sock" -a
t1=$(date +%s.%N)
echo "ifup -a of $n static interfaces: $(echo "($t1 - $t0) * 1000" | bc -l | cut -d. -f1) ms"
rss_up=$(rss_kib)
echo "netconfd VmRSS after ifup -a: $((rss_up / 1024)) MiB ($rss_up KiB)"

# External change latency: ip addr add → visible in status.
lat=$(python3 - "$ns" "$work/ctl.sock" <<'EOF'
import json, socket, subprocess, sys, time
ns, path = sys.argv[1], sys.argv[2]
def status():
    s = socket.socket(socket.AF_UNIX); s.connect(path)
    s.sendall(b'{"version":1,"id":1,"op":"status","args":{"iface":"a7"}}\n')
    return json.loads(s.makefile().readline())
t0 = time.monotonic()
subprocess.run(["ip", "-n", ns, "addr", "add", "203.0.113.7/32", "dev", "a7"], check=True)
while True:
    r = status()
    addrs = r["result"]["interfaces"][0]["addresses"]
    if any(a["address"] == "203.0.113.7/32" and a["origin"] == "external" for a in addrs):
        break
print(f"{(time.monotonic() - t0) * 1000:.1f}")
EOF
)
echo "external ip addr add visible in status after: $lat ms (incl. the ip command)"
ip -n "$ns" addr del 203.0.113.7/32 dev a7
sleep 1

total_writes=0
times=()
for r in $(seq 1 "$restarts"); do
    ip -n "$ns" monitor link address route > "$work/monitor.$r" &
    monitor=$!
    sleep 0.2
    kill -9 "$daemon"; wait "$daemon" 2>/dev/null || true
    t=$(date +%s%N)
    start_daemon
    ms=$(ping_ms "$t")
    times+=("$ms")
    sleep 0.3
    kill "$monitor"; wait "$monitor" 2>/dev/null || true
    monitor=
    writes=$(grep -vc '^$' "$work/monitor.$r" || true)
    [ "$writes" = 0 ] || { echo "restart $r changed the kernel:" >&2; head -5 "$work/monitor.$r" >&2; }
    total_writes=$((total_writes + writes))
done
sorted=$(printf '%s\n' "${times[@]}" | sort -n)
median=$(echo "$sorted" | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
echo "restart (kill -9) to first reply, $restarts runs: median $median ms (all: $(echo $sorted | tr '\n' ' '))"
echo "  (measured outside: includes \`ip netns exec\` and the python3 client starting)"
ready=$(grep 'netconfd ready' "$work/netconfd.log" | tail -n "$restarts" | sed 's/.* ms=\([0-9.]*\).*/\1/' | sort -n)
echo "netconfd's own start to ready (state read, kernel dumped, dhclients adopted), median: $(echo "$ready" | awk '{a[NR]=$1} END {printf "%.1f", a[int((NR+1)/2)]}') ms"
echo "netlink changes during the restarts: $total_writes"
echo "netconfd VmRSS after restart: $(( $(rss_kib) / 1024 )) MiB ($(rss_kib) KiB)"
