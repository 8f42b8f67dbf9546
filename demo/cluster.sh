#!/usr/bin/env bash
# A fleet on loopback: one redis-server, three Turnpike nodes reading the same file, a request
# echo upstream. Requests go round-robin over the nodes; the limit (10 an hour per client) holds
# for the fleet. Then Redis stops (fault_tolerant: requests pass, without rate-limit headers) and
# comes back (counting resumes). Usage: demo/cluster.sh [path/to/turnpike]
set -euo pipefail

BIN=${1:-.build/release/turnpike}
REDIS_PORT=${REDIS_PORT:-16379}
MOCK_PORT=${MOCK_PORT:-9100}
NODES=(8101 8102 8103)
WORK=$(mktemp -d)
PIDS=()
REDIS_PID=""

cleanup() {
  for pid in "${PIDS[@]}" $REDIS_PID; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

wait_port() { # host port
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.05
  done
  echo "nothing listens on $1:$2" >&2
  exit 1
}

start_redis() {
  redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
    --loglevel warning >"$WORK/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_port 127.0.0.1 "$REDIS_PORT"
}

request() { # node-index
  local port=${NODES[$1]}
  local headers status remaining
  headers=$(curl -s -o /dev/null -D - "http://127.0.0.1:$port/limited/request")
  status=$(printf '%s' "$headers" | head -1 | cut -d' ' -f2)
  remaining=$(printf '%s' "$headers" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-ratelimit-remaining-hour"{print $2}')
  printf '  node %d (:%s)  %s  X-RateLimit-Remaining-Hour: %s\n' "$(($1 + 1))" "$port" "$status" "${remaining:-(none)}"
}

sed -e "s/port: 16379/port: $REDIS_PORT/" -e "s/127.0.0.1:9100/127.0.0.1:$MOCK_PORT/" demo/cluster.yaml >"$WORK/kong.yaml"
"$BIN" validate "$WORK/kong.yaml"

start_redis
"$BIN" mock --listen "127.0.0.1:$MOCK_PORT" 2>"$WORK/mock.log" &
PIDS+=($!)
for i in "${!NODES[@]}"; do
  "$BIN" start --config "$WORK/kong.yaml" --proxy-listen "127.0.0.1:${NODES[$i]}" \
    --admin-listen "127.0.0.1:$((NODES[i] + 100))" 2>"$WORK/node$((i + 1)).log" &
  PIDS+=($!)
done
wait_port 127.0.0.1 "$MOCK_PORT"
for port in "${NODES[@]}"; do wait_port 127.0.0.1 "$port"; done

echo "1. 12 requests, round-robin over 3 nodes sharing Redis on :$REDIS_PORT (limit: 10 an hour):"
for n in $(seq 0 11); do request $((n % 3)); done

echo "   the key every node counts in (Kong's layout):"
redis-cli -p "$REDIS_PORT" --scan --pattern 'ratelimit:*' | sed 's/^/  /'

echo "2. Redis stops: fault_tolerant lets requests through, without rate-limit headers:"
kill "$REDIS_PID"
wait "$REDIS_PID" 2>/dev/null || true
for n in 0 1 2; do request "$n"; done

echo "3. Redis is back (empty, as after a crash): the fleet counts again:"
start_redis
sleep 0.3 # the nodes retry a refused connection after 250 ms
for n in 0 1 2; do request "$n"; done

echo "node logs: $WORK (removed on exit); Redis failures are logged once per 10 s per node:"
grep -h "redis unavailable" "$WORK"/node*.log | head -3 | sed 's/^/  /'
