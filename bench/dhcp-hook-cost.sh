#!/usr/bin/env bash
# What one dhclient hook call costs: netconf-dhcp-hook run with a real BOUND
# environment (hook-script/tests/fixtures/v4-02-BOUND.env), posting it to a
# stand-in daemon that answers {"exit":0} at once, side by side with
# /bin/true and `sh -c 'exit 0'` as floors (a process that does nothing, and
# the smallest shell script dhclient could run instead).
#
#   cargo build --release && bench/dhcp-hook-cost.sh [RUNS]
#
# Uses hyperfine when installed (apt-get install hyperfine), else a python3
# loop. Prints the median per call of each, and the hook's size. Touches no
# network: the daemon is a Unix socket in a temporary directory.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-2000}
warmup=100
hook=$PWD/target/release/netconf-dhcp-hook
fixture=$PWD/hook-script/tests/fixtures/v4-02-BOUND.env

[ -x "$hook" ] || { echo "build first: cargo build --release" >&2; exit 1; }
command -v python3 >/dev/null || { echo "python3 is needed for the stand-in daemon" >&2; exit 1; }

work=$(mktemp -d)
socket=$work/ctl.sock
server=
cleanup() {
    [ -n "$server" ] && kill "$server" 2>/dev/null && wait "$server" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

# The stand-in daemon: one request per connection, answered with exit 0 and
# counted; the count is written out on SIGTERM so that the run can check
# every call really reached it.
python3 - "$socket" "$work/count" <<'EOF' &
import json, os, signal, socket, sys

path, count_file = sys.argv[1], sys.argv[2]
count = 0

def stop(*_):
    with open(count_file, "w") as f:
        f.write(f"{count}\n")
    os._exit(0)

signal.signal(signal.SIGTERM, stop)
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(64)
while True:
    conn, _ = srv.accept()
    with conn:
        buf = b""
        while not buf.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            buf += chunk
        if not buf.endswith(b"\n"):
            continue
        request = json.loads(buf)
        if request.get("op") == "dhcp-event":
            count += 1
        conn.sendall(b'{"id":%d,"type":"ok","result":{"exit":0}}\n' % request["id"])
EOF
server=$!
for _ in $(seq 100); do [ -S "$socket" ] && break; sleep 0.05; done
[ -S "$socket" ] || { echo "the stand-in daemon did not start" >&2; exit 1; }

# dhclient's environment, and nothing else, as dhclient gives it.
mapfile -t vars < "$fixture"
vars+=("NETCONF_SOCKET=$socket")
env -i "${vars[@]}" "$hook" || { echo "the hook failed: exit $?" >&2; exit 1; }
calls=1

if command -v hyperfine >/dev/null; then
    tool="hyperfine $(hyperfine --version | awk '{print $2}')"
    # -N: no shell in between; hyperfine passes its own (dhclient's)
    # environment on to each command.
    env -i "${vars[@]}" "$(command -v hyperfine)" -N --style basic --warmup "$warmup" --runs "$runs" \
        --export-json "$work/times.json" "$hook" /bin/true "sh -c 'exit 0'" >&2
    calls=$((calls + warmup + runs))
else
    tool="python3 loop (hyperfine not installed)"
    env -i "${vars[@]}" "$(command -v python3)" - "$work/times.json" "$runs" "$warmup" "$hook" <<'EOF'
import json, statistics, subprocess, sys, time
out, runs, warmup, hook = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
results = []
for cmd in ([hook], ["/bin/true"], ["sh", "-c", "exit 0"]):
    times = []
    for i in range(warmup + runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True)
        if i >= warmup:
            times.append(time.perf_counter() - t0)
    results.append({"command": " ".join(cmd), "median": statistics.median(times),
                    "mean": statistics.mean(times), "min": min(times), "max": max(times)})
json.dump({"results": results}, open(out, "w"))
EOF
    calls=$((calls + warmup + runs))
fi

kill "$server"
wait "$server" 2>/dev/null || true
server=
received=$(cat "$work/count")
[ "$received" -eq "$calls" ] || { echo "the daemon got $received events for $calls calls" >&2; exit 1; }

python3 - "$work/times.json" "$tool" "$runs" <<'EOF'
import json, sys
data = json.load(open(sys.argv[1]))
print(f"{sys.argv[3]} runs each, {sys.argv[2]}; every hook call answered by the stand-in daemon")
print(f"{'command':<40} {'median':>10} {'mean':>10} {'min':>10} {'max':>10}")
for r in data["results"]:
    name = r["command"].rsplit("/", 1)[-1] if r["command"].startswith("/") else r["command"]
    row = [r[k] * 1e3 for k in ("median", "mean", "min", "max")]
    print(f"{name:<40} " + " ".join(f"{v:>8.3f}ms" for v in row))
EOF
echo "netconf-dhcp-hook: $(stat -c %s "$hook") bytes ($(du -k "$hook" | cut -f1) KiB on disk)"
