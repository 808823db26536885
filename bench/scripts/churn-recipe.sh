#!/usr/bin/env bash
# The interrupted-dump recipe of issue 12, measured with the release
# `netstate` binary (root; everything happens in a namespace this script
# creates and deletes):
#
#   one veth pair a0/b0, ADDRS /32 addresses on a0, PAIRS more veth pairs
#   carrying EXTRA addresses between them; `netstate watch --json
#   --debounce-ms 0 --reconcile-secs 0 --stats`; for CHURN_SECS keep adding
#   one /32 to a0 and changing b0's MTU; then time how long after the churn
#   stops the published state equals the kernel's (a0's addresses, b0's
#   MTU), and print the monitor's counters.
#
# Usage: bench/scripts/churn-recipe.sh [ADDRS] [PAIRS] [EXTRA] [CHURN_SECS]
#   bench/scripts/churn-recipe.sh 20000            # the issue's first case
#   bench/scripts/churn-recipe.sh 20000 2000 30000 # 2,000 pairs, 50,000 addresses
set -euo pipefail
ADDRS=${1:-20000}
PAIRS=${2:-0}
EXTRA=${3:-0}
CHURN_SECS=${4:-8}
cd "$(dirname "$0")/../.."
cargo build -q --release -p netstate-cli
BIN=$PWD/target/release/netstate
NS=churn-$$
WORK=$(mktemp -d)
cleanup() {
    [ -n "${WATCH_PID:-}" ] && kill "$WATCH_PID" 2>/dev/null || true
    ip netns del "$NS" 2>/dev/null || true
    rm -rf "$WORK"
}
trap cleanup EXIT
ip netns add "$NS"
ip -n "$NS" link set lo up
ip -n "$NS" link add a0 type veth peer name b0
ip -n "$NS" link set a0 up
ip -n "$NS" link set b0 up
python3 - "$ADDRS" "$PAIRS" "$EXTRA" > "$WORK/setup" <<'PY'
import sys
addrs, pairs, extra = map(int, sys.argv[1:])
for n in range(addrs):
    n += 1 << 16
    print(f"addr add 10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}/32 dev a0")
for p in range(pairs):
    print(f"link add p{p}a type veth peer name p{p}b")
    print(f"link set p{p}a up")
    print(f"link set p{p}b up")
for n in range(extra):
    p = n % max(pairs, 1)
    dev = f"p{p}a" if pairs else "b0"
    print(f"addr add 172.{16 + (n >> 16) % 16}.{(n >> 8) & 255}.{n & 255}/32 dev {dev}")
PY
echo "setting up: $ADDRS addresses on a0, $PAIRS pairs, $EXTRA more addresses" >&2
ip -n "$NS" -batch "$WORK/setup"
# Each published line is stamped with its arrival time (wall clock, as
# the churn's end is).
ip netns exec "$NS" "$BIN" watch --json --debounce-ms 0 --reconcile-secs 0 --stats \
    2> "$WORK/err" | python3 -u -c '
import sys, time
for line in sys.stdin:
    print(f"{time.time():.6f} {line}", end="", flush=True)' > "$WORK/out" &
WATCH_PID=$(pgrep -n -f "$BIN watch") || true
# Wait for the initial state.
until [ -s "$WORK/out" ]; do sleep 0.1; done
echo "churning for $CHURN_SECS s" >&2
end=$(( $(date +%s) + CHURN_SECS ))
n=$(( 1 << 20 ))
while [ "$(date +%s)" -lt "$end" ]; do
    batch=""
    for _ in $(seq 20); do
        batch+="addr add 10.$(( (n >> 16) & 255 )).$(( (n >> 8) & 255 )).$(( n & 255 ))/32 dev a0"$'\n'
        batch+="link set b0 mtu $(( 1300 + n % 200 ))"$'\n'
        n=$(( n + 1 ))
    done
    printf '%s' "$batch" | ip -n "$NS" -batch -
done
stopped=$(date +%s.%N)
want_addrs=$(ip -n "$NS" -j addr show dev a0 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[0]["addr_info"]))')
want_mtu=$(ip -n "$NS" -j link show dev b0 | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["mtu"])')
echo "kernel: a0 has $want_addrs addresses, b0 mtu $want_mtu" >&2
# The first line published after the churn stopped that shows the kernel's
# state (or the last one before, if the state was already right).
converged=""
deadline=$(( $(date +%s) + 600 ))
while [ "$(date +%s)" -lt "$deadline" ]; do
    converged=$(python3 - "$WORK/out" "$stopped" "$want_addrs" "$want_mtu" <<'PY'
import json, sys
path, stopped, want_addrs, want_mtu = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
last_before = None
for raw in open(path):
    stamp, _, line = raw.partition(" ")
    try:
        s = json.loads(line)["state"]
    except Exception:
        continue
    a = [i for i in s["interfaces"] if i["name"] == "a0"]
    b = [i for i in s["interfaces"] if i["name"] == "b0"]
    right = bool(a and b) and len(a[0]["addrs"]) == want_addrs and b[0]["mtu"] == want_mtu
    t = float(stamp)
    if t <= stopped:
        last_before = right
    elif right:
        print(f"{t - stopped:.3f}")
        break
else:
    if last_before:
        print("0.000")
PY
)
    [ -n "$converged" ] && break
    sleep 0.05
done
kill -INT "$WATCH_PID"
wait || true
WATCH_PID=""
echo "converged after churn stopped: ${converged:-NOT within 600 s} s"
# For scale: one whole enumeration of the final table (`netstate snapshot`,
# process start included).
snap=$(python3 -c '
import subprocess, sys, time
t = time.time()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True)
print(f"{time.time() - t:.3f}")' ip netns exec "$NS" "$BIN" snapshot --json)
echo "one snapshot of the final table: $snap s"
tail -n 1 "$WORK/out" | cut -d" " -f2-
