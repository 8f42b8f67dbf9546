#!/usr/bin/env bash
# Profiles the proxy's user time under load: an nginx upstream and wrk on core 1, `turnpike start
# --workers 1` on core 0, `perf record -e cpu-clock:u -g` on the gateway for 8 s. Prints the top
# symbols by self time and by who calls the runtime (retain/release/malloc), the view that shows
# where per-request costs hide. Not a test; needs nginx, wrk and perf (linux-perf).
#
#   bench/profile_proxy.sh [BINARY] [OUT.data]
#
# PLUGINS (the route's `plugins:` list as YAML, unindented) and HEADER (one `Name: value` sent by
# wrk) profile a route with plugins, EXTRA (top-level YAML: consumers) what they need, e.g. the
# cors bench case:
#   PLUGINS='- name: cors
#     config: {origins: ["http://app.test"]}' HEADER='Origin: http://app.test' bench/profile_proxy.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/turnpike}
OUT=${2:-bench-out/profile/perf.data}
DIR=bench-out/profile
mkdir -p "$DIR"
PORT=18090
. bench/upstream_nginx.sh
upstream_nginx_conf "$DIR" "$PORT"
cat > "$DIR/kong.yaml" <<EOF
_format_version: "3.0"
services:
  - name: bench
    url: http://127.0.0.1:$PORT
    routes:
      - name: bench
        paths: [/bench]
EOF
if [ -n "${PLUGINS:-}" ]; then
    printf '        plugins:\n%s\n' "$(sed 's/^/          /' <<< "$PLUGINS")" >> "$DIR/kong.yaml"
fi
if [ -n "${EXTRA:-}" ]; then printf '%s\n' "$EXTRA" >> "$DIR/kong.yaml"; fi
taskset -c 1 nginx -c "$PWD/$DIR/nginx.conf" &
NGINX=$!
taskset -c 0 "$BIN" start --config "$DIR/kong.yaml" --proxy-listen 127.0.0.1:18091 \
    --admin-listen 127.0.0.1:18092 --workers 1 --log-level error ${TURNPIKE_ARGS:-} 2>"$DIR/stderr.log" &
GATEWAY=$!
trap 'kill $GATEWAY $NGINX 2>/dev/null || true' EXIT
sleep 1.5
taskset -c 1 wrk -t1 -c50 -d12s ${HEADER:+-H "$HEADER"} http://127.0.0.1:18091/bench/hello > "$DIR/wrk.txt" &
WRK=$!
sleep 2
perf record -e cpu-clock:u -g -p "$GATEWAY" -o "$OUT" -- sleep 8 > /dev/null 2>&1
wait "$WRK" || true
grep Requests/sec "$DIR/wrk.txt" || true
echo "== self time (top 25)"
perf report -i "$OUT" --no-children --sort symbol --stdio -g none 2>/dev/null | grep '%' | grep -v '^#' \
    | head -25 | cut -c1-160 || true
echo "== callers of the runtime (retain, release, malloc, free), by first non-runtime frame"
perf script -i "$OUT" 2>/dev/null | python3 -c '
import re, sys, collections
runtime = re.compile(r"^(swift_|_swift|_int_|malloc$|cfree|free$|swift::)")
callers, total = collections.Counter(), 0
for sample in sys.stdin.read().split("\n\n"):
    frames = [re.sub(r"^\s*[0-9a-f]+ ", "", l.strip()) for l in sample.strip().split("\n")[1:]]
    frames = [re.sub(r"\+0x[0-9a-f]+ \(.*\)$", "", f) for f in frames if f]
    if not frames: continue
    total += 1
    if runtime.match(frames[0]):
        caller = next((f for f in frames[1:] if not runtime.match(f)), "?")
        callers[caller] += 1
for name, n in callers.most_common(20):
    print(f"{100 * n / total:5.2f}%  {name[:140]}")
' || true
