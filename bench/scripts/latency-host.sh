#!/usr/bin/env bash
# The peers benchmark's hosts, by hand, for running one latency or CPU
# worker under strace, perf stat or perf record (root):
#
#   namespace NS with IPv6 off; PAIRS veth pairs bv{i}a/bv{i}b, both ends
#   up, one IPv4 /24 on each a end; the uplink pair up0/up0p with
#   10.19.0.2/24 and the default route via 10.19.0.1; chg0/chg0p, the pair
#   the worker changes (`addrgenmode none` on both uplink and change pairs).
#
# Usage: bench/scripts/latency-host.sh NS [PAIRS]     (delete: ip netns del NS)
#   bench/scripts/latency-host.sh lat0                 # the bare host
#   sleep 25 | ip netns exec lat0 perf stat -e task-clock \
#       target/release/peers worker latency netstate dev=chg0 \
#       addr=10.123.0.1 count=400 gap_ms=20 debounce_ms=0
set -euo pipefail
NS=${1:?usage: latency-host.sh NS [PAIRS]}
PAIRS=${2:-0}
ip netns add "$NS"
ip netns exec "$NS" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 \
    net.ipv6.conf.default.disable_ipv6=1
ip -n "$NS" link set lo up
if [ "$PAIRS" -gt 0 ]; then
    batch=$(mktemp)
    trap 'rm -f "$batch"' EXIT
    for ((i = 0; i < PAIRS; i++)); do
        printf 'link add bv%da type veth peer name bv%db\n' "$i" "$i"
        printf 'link set bv%da up\nlink set bv%db up\n' "$i" "$i"
        printf 'addr add 10.%d.%d.1/24 dev bv%da\n' $((20 + i / 256)) $((i % 256)) "$i"
    done >"$batch"
    ip -n "$NS" -batch "$batch"
fi
for d in up0 chg0; do
    ip -n "$NS" link add "$d" type veth peer name "${d}p"
    ip -n "$NS" link set "$d" addrgenmode none
    ip -n "$NS" link set "${d}p" addrgenmode none
    ip -n "$NS" link set "$d" up
    ip -n "$NS" link set "${d}p" up
done
ip -n "$NS" addr add 10.19.0.2/24 dev up0
ip -n "$NS" route add default via 10.19.0.1
