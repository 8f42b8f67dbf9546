#!/usr/bin/env bash
# Allocations per proxied request: the gateway runs with bench/malloc_count.c preloaded (it
# counts malloc, calloc, realloc and the aligned forms), serves N warm-up GETs on one keep-alive
# connection, then N more; the count's growth over the second N, divided by N, is printed for a
# plain route, a key-auth route, key-auth + rate-limiting (local), cors, and cors + request-
# transformer. Not a test; needs gcc and nginx.
#
#   bench/malloc_per_request.sh [BINARY] [N]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${1:-.build/release/turnpike}
N=${2:-5000}
DIR=bench-out/mallocs
mkdir -p "$DIR"
gcc -O2 -shared -fPIC -o "$DIR/malloc_count.so" bench/malloc_count.c -ldl
UP=18190
. bench/upstream_nginx.sh
upstream_nginx_conf "$DIR" "$UP"
cat > "$DIR/kong.yaml" <<CONF
_format_version: "3.0"
services:
  - name: plain
    url: http://127.0.0.1:$UP
    routes:
      - name: plain
        paths: [/plain]
  - name: keyed
    url: http://127.0.0.1:$UP
    routes:
      - name: keyed
        paths: [/keyed]
        plugins:
          - name: key-auth
  - name: limited
    url: http://127.0.0.1:$UP
    routes:
      - name: limited
        paths: [/limited]
        plugins:
          - name: key-auth
          - name: rate-limiting
            config: {minute: 1000000000, limit_by: consumer}
  - name: shaped
    url: http://127.0.0.1:$UP
    routes:
      - name: cors
        paths: [/cors]
        plugins:
          - name: cors
            config: {origins: ["http://app.test", "https://app.test"], credentials: true}
      - name: shaped
        paths: [/shaped]
        plugins:
          - name: cors
            config: {origins: ["http://app.test", "https://app.test"], credentials: true}
          - name: request-transformer
            config: {add: {headers: ["X-Gateway:turnpike"]}, remove: {headers: [x-debug]}}
consumers:
  - username: alice
    keyauth_credentials:
      - key: alice-key
CONF
nginx -c "$PWD/$DIR/nginx.conf" &
NGINX=$!
MALLOC_COUNT_FILE="$PWD/$DIR/count" LD_PRELOAD="$PWD/$DIR/malloc_count.so" \
    "$BIN" start --config "$DIR/kong.yaml" --proxy-listen 127.0.0.1:18191 --admin-listen 127.0.0.1:18192 \
    --workers 1 --log-level error &
GATEWAY=$!
trap 'kill $GATEWAY $NGINX 2>/dev/null || true' EXIT
sleep 1.5
python3 - "$GATEWAY" "$N" "$PWD/$DIR/count" <<'PY'
import http.client, os, signal, sys, time
pid, n, count_file = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def count():
    os.kill(pid, signal.SIGUSR2)
    for _ in range(100):
        time.sleep(0.05)
        try:
            with open(count_file) as f:
                text = f.read().strip()
            if text:
                os.remove(count_file)
                return int(text)
        except FileNotFoundError:
            pass
    sys.exit("no count from the gateway")

def run(path, headers):
    c = http.client.HTTPConnection("127.0.0.1", 18191)
    for _ in range(n):
        c.request("GET", path, headers=headers)
        r = c.getresponse()
        r.read()
        assert r.status == 200, r.status
    c.close()

cases = [
    ("plain route", "/plain/x", {}),
    ("key-auth route", "/keyed/x", {"apikey": "alice-key"}),
    ("key-auth + rate-limiting (local)", "/limited/x", {"apikey": "alice-key"}),
    ("cors, Origin sent", "/cors/x", {"Origin": "http://app.test"}),
    ("cors + request-transformer (two header edits)", "/shaped/x", {"Origin": "http://app.test"}),
]
for name, path, headers in cases:
    run(path, headers)  # warm-up: pools, caches, first-use allocations
    before = count()
    run(path, headers)
    after = count()
    print(f"{name}: {(after - before) / n:.1f} allocations per proxied GET ({n} requests, one keep-alive connection)")
PY
