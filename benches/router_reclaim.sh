#!/usr/bin/env bash
# One minute of wrk through an httpdb router (issue 10): three nodes with few
# workers, so they reclaim idle keep-alive connections, behind the nginx that
# `httpdb cluster nginx-conf` prints; 64 connections of mixed GET and PUT.
# The router must answer no 5xx: nginx gives up pooled connections before a
# node's idle timeout, and a request racing a reclaim is still answered.
#
# A load test: run it on a quiet machine, not a shared one. Needs wrk,
# nginx, curl and python3. Usage, from the repository:
#   benches/router_reclaim.sh              # 60 s, nodes with --threads 8
#   SECONDS_OF_LOAD=10 THREADS=4 benches/router_reclaim.sh
#   NODE_ARGS="--max-pending 256" benches/router_reclaim.sh   # more flags for the nodes
#
# Each node's pool is small on purpose; what waits beyond --threads plus
# --max-pending (4 x threads by default) is turned away with 503 at the
# node's door, which is back-pressure, not a reclaim race: the script
# prints each node's reclaimed and rejected counts (its /_stats) so the two
# can be told apart.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/sbin"
for tool in wrk nginx curl python3; do
    command -v "$tool" >/dev/null || { echo "needs $tool (apt-get install $tool)" >&2; exit 2; }
done

duration=${SECONDS_OF_LOAD:-60}
threads=${THREADS:-8}     # per node: 64 connections over 3 nodes are ~21 each
node_args=${NODE_ARGS:-}
router_port=${ROUTER_PORT:-18080}
cargo build --release --quiet
bin=$PWD/target/release/httpdb
work=$(mktemp -d)
pids=()
stop() {
    nginx -p "$work/router" -c router.conf -s stop 2>/dev/null || true
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap stop EXIT

nodes=()
for i in 1 2 3; do
    # shellcheck disable=SC2086 # NODE_ARGS is a list of flags
    "$bin" --addr 127.0.0.1:0 --in-memory --quiet --threads "$threads" $node_args > "$work/node$i.out" &
    pids+=($!)
    until grep -q '^listening on ' "$work/node$i.out" 2>/dev/null; do
        # A node that fails to start (its error is on stderr) never listens.
        kill -0 "${pids[-1]}" 2>/dev/null || { echo "node $i exited before listening" >&2; exit 1; }
        sleep 0.05
    done
    nodes+=(--node "$(sed -n 's/^listening on //p' "$work/node$i.out")")
done
mkdir "$work/router"
"$bin" cluster nginx-conf --listen "127.0.0.1:$router_port" "${nodes[@]}" > "$work/router/router.conf"
nginx -p "$work/router" -c router.conf -g 'daemon off;' &
pids+=($!)
until curl -s -m 1 -o /dev/null "127.0.0.1:$router_port/_router"; do
    # nginx that fails to start (a port in use: ROUTER_PORT) says why and exits.
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "nginx exited before listening" >&2; exit 1; }
    sleep 0.05
done

# 1,000 keys, so that every GET finds one and the keys spread over the nodes.
for i in $(seq 0 999); do echo "url = \"http://127.0.0.1:$router_port/k$i\""; done \
    | curl -s --no-progress-meter -X PUT -d value --parallel --parallel-max 16 -K - -o /dev/null

cat > "$work/mixed.lua" <<'LUA'
-- Nine GETs to one PUT, over 1,000 keys.
local n = 0
request = function()
  n = n + 1
  local key = "/k" .. math.random(0, 999)
  if n % 10 == 0 then
    return wrk.format("PUT", key, {["Content-Type"] = "text/plain"}, "value " .. n)
  end
  return wrk.format("GET", key)
end
LUA

wrk -t2 -c64 -d"${duration}s" --latency -s "$work/mixed.lua" "http://127.0.0.1:$router_port/"
log="$work/router/access.log"
echo "responses by status (router access log):"
awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^HTTP\/1\.[01]"$/) { print $(i + 1); break } }' "$log" \
    | sort | uniq -c
echo "non-2xx: $(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^HTTP\/1\.[01]"$/) { if ($(i + 1) !~ /^2/) n++; break } } END { print n + 0 }' "$log")"
echo "nginx errors about nodes: $(grep -c 'upstream' "$work/router/error.log" || true)"
grep 'upstream' "$work/router/error.log" | sed 's/^[^]]*] //' | cut -c1-160 | sort | uniq -c | sort -rn | head -5 || true
echo "each node's connections (its /_stats): reclaimed for a newcomer, rejected with 503 at the door"
for i in 1 2 3; do
    addr=$(sed -n 's/^listening on //p' "$work/node$i.out")
    curl -s "$addr/_stats" | python3 -c 'import json, sys; c = json.load(sys.stdin)["connections"]; print("  reclaimed", c["reclaimed"], "rejected", c["rejected"])'
done
