#!/usr/bin/env python3
"""Proxy benchmark: Turnpike against nginx as a reverse proxy, same upstream, same load.

One upstream nginx (1 worker, returns a fixed "hello\\n") serves every case. Each case puts a
proxy (or nothing, for `direct`) in front of it and measures it with wrk:

    core 1: wrk (-t1) + the upstream nginx          core 0: the proxy under test

Per run: 1 s warm-up (discarded), then the measured wrk run; the proxy's CPU time over the
measured run comes from /proc/<pid>/stat (utime + stime; nginx: master + worker). The median run
(by requests/sec) of each case is reported, with the ratios Turnpike / nginx-proxy and a verdict
per target. Results go to bench-out/proxy-bench.json; configs and logs to bench-out/proxy-bench/.

The `nio-relay` case is the floor of any proxy built on SwiftNIO channels: `turnpike-bench
nio-relay` copies bytes between one client and one upstream connection and parses nothing (it
works here because wrk and the upstream both keep connections alive). What a SwiftNIO gateway
costs above it is its own HTTP and plugin work.

Not a test: numbers depend on the machine. Needs Linux with >= 2 cores, nginx and wrk (installed
with apt-get when missing). Python 3 stdlib only.

    python3 bench/proxy_bench.py --quick                 # smoke test: 2 s per case, 1 run
    python3 bench/proxy_bench.py                         # 10 s x 3 runs per case, 50 connections
    python3 bench/proxy_bench.py --cases turnpike,nginx-proxy --duration 5
"""
import argparse
import dataclasses
import http.client
import json
import os
import platform
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import time
from typing import Callable, List, Optional

OUT_DIR = "bench-out"
WORK_DIR = os.path.join(OUT_DIR, "proxy-bench")
JSON_OUT = os.path.join(OUT_DIR, "proxy-bench.json")
UPSTREAM_BODY = "hello\n"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------
# Processes: everything started is tracked and killed on exit (normal, exception, Ctrl-C, SIGTERM).

class Procs:
    def __init__(self):
        self.live: List[subprocess.Popen] = []

    def start(self, argv, log_path, cpu=None):
        if cpu is not None:
            argv = ["taskset", "-c", str(cpu)] + list(argv)
        log = open(log_path, "ab")
        # Own session: a terminal Ctrl-C reaches only this script, which then stops the children
        # in order. `taskset` execs the program, so the pid is the program's.
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        log.close()
        p.log_path = log_path
        self.live.append(p)
        return p

    def stop(self, p, timeout=10.0):
        """SIGTERM the process group, SIGKILL it after `timeout`."""
        if p not in self.live:
            return
        self.live.remove(p)
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                print(f"  warning: pid {p.pid} ignored SIGTERM for {timeout:.0f} s, killing it", file=sys.stderr)
        # Reap leftovers in the group (e.g. nginx workers) whatever happened to the leader.
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            p.wait(5)
        except subprocess.TimeoutExpired:
            pass

    def stop_all(self):
        for p in reversed(list(self.live)):
            self.stop(p, timeout=5.0)


PROCS = Procs()


def _on_sigterm(signum, frame):
    raise SystemExit(128 + signum)


# ---------------------------------------------------------------------------------------------
# Helpers

def ensure_packages():
    """apt-get install nginx, wrk and redis-server, only those that are missing."""
    missing = [pkg for pkg, binary in (("nginx", "nginx"), ("wrk", "wrk"), ("redis-server", "redis-server"))
               if shutil.which(binary) is None and not os.path.exists(f"/usr/sbin/{binary}")]
    if not missing:
        return
    print(f"installing: {' '.join(missing)}", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = sudo + ["apt-get", "install", "-y", "-qq"] + missing
    if subprocess.call(install, env=env) != 0:
        subprocess.check_call(sudo + ["apt-get", "update", "-qq"], env=env)
        subprocess.check_call(install, env=env)


def nginx_binary():
    return shutil.which("nginx") or "/usr/sbin/nginx"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_cpu_ticks(pid, which=(11, 12)):
    """utime + stime of a process (all its threads), in clock ticks; `which` picks the fields."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # fields[0] is field 3 (state); utime and stime are fields 14 and 15.
    return sum(int(fields[i]) for i in which)


def children_of(pid):
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if ppid == pid:
            out.append(int(entry))
    return out


def cpu_seconds(pids):
    return sum(proc_cpu_ticks(p) for p in pids) / CLK_TCK


def user_seconds(pids):
    """User-space share only: where a proxy's own work shows (the kernel's share is the sockets')."""
    return sum(proc_cpu_ticks(p, which=(11,)) for p in pids) / CLK_TCK


def http_get(port, path, headers=None, timeout=2.0, tls=False):
    if tls:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        conn = http.client.HTTPSConnection("127.0.0.1", port, timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read().decode(errors="replace")
    finally:
        conn.close()


def wait_ready(proc, port, path, headers=None, timeout=30.0, tls=False):
    """Until GET path answers 200 with the upstream body (the whole chain works)."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{proc.args} exited with {proc.returncode}; log {proc.log_path}:\n"
                               + tail(proc.log_path))
        try:
            status, body = http_get(port, path, headers, tls=tls)
            if status == 200 and body == UPSTREAM_BODY:
                return
            last = f"HTTP {status} {body[:200]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(0.1)
    log = f"; log {proc.log_path}:\n{tail(proc.log_path)}" if proc is not None else ""
    raise RuntimeError(f"port {port}{path} not ready after {timeout:.0f} s (last: {last}){log}")


def tail(path, n=30):
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return ""


def version_of(argv):
    try:
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        return (r.stdout + r.stderr).strip().splitlines()[0]
    except (OSError, IndexError, subprocess.TimeoutExpired):
        return "?"


# ---------------------------------------------------------------------------------------------
# nginx

NGINX_MAIN = """\
daemon off;
master_process on;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{
    worker_connections 4096;
}}
http {{
    access_log off;
    keepalive_requests 100000;
    keepalive_timeout 75s;
    client_body_temp_path {prefix}/client_body;
    proxy_temp_path {prefix}/proxy;
    fastcgi_temp_path {prefix}/fastcgi;
    uwsgi_temp_path {prefix}/uwsgi;
    scgi_temp_path {prefix}/scgi;
    default_type text/plain;
{http}
}}
"""

UPSTREAM_HTTP = """\
    server {{
        listen 127.0.0.1:{port};
        location / {{
            return 200 "hello\\n";
        }}
        # Connections accepted / requests served, read before and after each measured run: shows
        # whether the proxy reuses upstream connections (wrk's own connections are in the count).
        location = /__upstream_status {{
            stub_status;
        }}
        # A proxy that forgets to strip the route prefix fails the readiness check.
        location /bench/ {{
            return 404 "prefix not stripped\\n";
        }}
    }}
    # The same upstream over TLS (the HTTPS-upstream cases), TLS 1.3, the bench certificate.
    server {{
        listen 127.0.0.1:{tls_port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        location / {{
            return 200 "hello\\n";
        }}
    }}
"""

# Kong's forwarding headers, as Turnpike sends them (for the `nginx-proxy-headers` case).
KONG_HEADERS = """\
            proxy_set_header Host $proxy_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Host $host;
            proxy_set_header X-Forwarded-Port $server_port;
            proxy_set_header X-Forwarded-Path $request_uri;
            proxy_set_header X-Forwarded-Prefix /bench;
            proxy_set_header X-Real-IP $remote_addr;
            proxy_set_header Via "1.1 nginx";
            proxy_set_header X-Kong-Request-Id $request_id;
            add_header Via "1.1 nginx" always;
            add_header X-Kong-Request-Id $request_id always;
"""

PROXY_HTTP = """\
    upstream bench_upstream {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
        keepalive_requests 100000;
    }}
    server {{
        listen 127.0.0.1:{port};
        # Like Turnpike's route `paths: [/bench]` with strip_path: /bench/x -> /x.
        location /bench/ {{
            proxy_pass http://bench_upstream/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
{extra}        }}
    }}
"""


class Nginx:
    """An nginx (master + 1 worker) in its own prefix under bench-out/proxy-bench/<name>/."""

    def __init__(self, name, http_block, cpu):
        self.prefix = os.path.abspath(os.path.join(WORK_DIR, name))
        os.makedirs(self.prefix, exist_ok=True)
        self.conf = os.path.join(self.prefix, "nginx.conf")
        with open(self.conf, "w") as f:
            f.write(NGINX_MAIN.format(prefix=self.prefix, http=http_block))
        log = os.path.join(self.prefix, "stderr.log")
        # -e: early error log before the config is read (else /var/log/nginx/error.log).
        self.proc = PROCS.start([nginx_binary(), "-p", self.prefix, "-c", self.conf, "-e", log], log, cpu=cpu)
        self.proc.log_path = os.path.join(self.prefix, "error.log")

    def cpu_pids(self):
        """Master and worker(s); looked up after startup, so workers exist."""
        return [self.proc.pid] + children_of(self.proc.pid)

    def stop(self):
        PROCS.stop(self.proc)


def upstream_status(port):
    """(accepted connections, requests) from the upstream's stub_status."""
    status, body = http_get(port, "/__upstream_status")
    m = re.search(r"^\s*(\d+)\s+(\d+)\s+(\d+)\s*$", body, re.M)
    if status != 200 or not m:
        raise RuntimeError(f"upstream stub_status: HTTP {status} {body!r}")
    return int(m.group(1)), int(m.group(3))


def bench_certificate():
    """An ECDSA P-256 certificate for localhost (openssl), made once per run, used by every TLS
    listener: nginx's and Turnpike's present the same certificate."""
    d = os.path.abspath(os.path.join(WORK_DIR, "tls"))
    os.makedirs(d, exist_ok=True)
    cert, key = os.path.join(d, "cert.pem"), os.path.join(d, "key.pem")
    if not os.path.exists(cert):
        subprocess.check_call(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                               "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                               "-addext", "subjectAltName=DNS:localhost"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return cert, key


def start_upstream(cpu):
    port, tls_port = free_port(), free_port()
    cert, key = bench_certificate()
    n = Nginx("upstream", UPSTREAM_HTTP.format(port=port, tls_port=tls_port, cert=cert, key=key), cpu)
    wait_ready(n.proc, port, "/hello")
    wait_ready(n.proc, tls_port, "/hello", tls=True)
    return n, port, tls_port


# ---------------------------------------------------------------------------------------------
# Cases. A case starts its proxy (pinned to the proxy core) and returns a Target; `direct` has
# no proxy. To add a case, write a start function and append a Case to CASES (and, to get ratios
# and verdicts, a Comparison to COMPARISONS).

@dataclasses.dataclass
class Env:
    args: argparse.Namespace
    upstream_port: int
    upstream: Nginx
    upstream_tls_port: int = 0


@dataclasses.dataclass
class Target:
    port: int
    path: str
    cpu_pids: Callable[[], List[int]]   # processes whose CPU time is the proxy's (empty: none)
    stop: Callable[[], None]
    headers: dict = dataclasses.field(default_factory=dict)  # sent by wrk (-H) and the readiness check
    tls: bool = False          # wrk speaks https
    close: bool = False        # a new connection (a new TLS handshake) per request


@dataclasses.dataclass
class Case:
    name: str
    description: str
    start: Callable[[Env], Target]
    default: bool = True   # part of the default --cases


def start_direct(env):
    return Target(port=env.upstream_port, path="/hello", cpu_pids=lambda: [], stop=lambda: None)


def _start_nginx_proxy(env, name, extra):
    port = free_port()
    http = PROXY_HTTP.format(upstream_port=env.upstream_port, port=port, extra=extra)
    n = Nginx(name, http, env.args.proxy_cpu)
    wait_ready(n.proc, port, "/bench/hello")
    return Target(port=port, path="/bench/hello", cpu_pids=n.cpu_pids, stop=n.stop)


def start_nginx_proxy(env):
    return _start_nginx_proxy(env, "nginx-proxy", "")


def start_nginx_proxy_headers(env):
    return _start_nginx_proxy(env, "nginx-proxy-headers", KONG_HEADERS)


def write_kong_yaml(path, upstream_port, extra=""):
    with open(path, "w") as f:
        f.write('_format_version: "3.0"\n'
                "services:\n"
                "  - name: bench\n"
                f"    url: http://127.0.0.1:{upstream_port}\n"
                "    routes:\n"
                "      - name: bench\n"
                "        paths: [/bench]\n"
                + extra)


def start_turnpike_with(env, name, yaml_extra="", headers=None, args=()):
    d = os.path.abspath(os.path.join(WORK_DIR, name))
    os.makedirs(d, exist_ok=True)
    config = os.path.join(d, "kong.yaml")
    write_kong_yaml(config, env.upstream_port, yaml_extra)
    port, admin = free_port(), free_port()
    argv = [os.path.abspath(env.args.binary), "start", "--config", config,
            "--proxy-listen", f"127.0.0.1:{port}", "--admin-listen", f"127.0.0.1:{admin}",
            "--workers", "1"] + list(args) + env.args.turnpike_arg
    p = PROCS.start(argv, os.path.join(d, "stderr.log"), cpu=env.args.proxy_cpu)
    wait_ready(p, port, "/bench/hello", headers)
    return Target(port=port, path="/bench/hello", cpu_pids=lambda: [p.pid], stop=lambda: PROCS.stop(p),
                  headers=headers or {})


def start_turnpike(env):
    return start_turnpike_with(env, "turnpike")


def start_turnpike_access_log(env):
    """`--access-log json` (issue #16): Kong's serializer entry per request, written to the
    gateway's stderr file by its own thread."""
    return start_turnpike_with(env, "turnpike-access-log", args=("--access-log", "json"))


def start_nio_relay(env):
    """The floor of any SwiftNIO proxy: `turnpike-bench nio-relay`, bytes copied both ways, no HTTP."""
    d = os.path.abspath(os.path.join(WORK_DIR, "nio-relay"))
    os.makedirs(d, exist_ok=True)
    binary = os.path.join(os.path.dirname(os.path.abspath(env.args.binary)), "turnpike-bench")
    if not os.path.exists(binary):
        sys.exit(f"{binary} is missing: swift build -c release --product turnpike-bench")
    port = free_port()
    p = PROCS.start([binary, "nio-relay", str(port), str(env.upstream_port)],
                    os.path.join(d, "stderr.log"), cpu=env.args.proxy_cpu)
    wait_ready(p, port, "/hello", None)  # the upstream's own path: a relay strips no prefix
    return Target(port=port, path="/hello", cpu_pids=lambda: [p.pid], stop=lambda: PROCS.stop(p),
                  headers={})


# ---- key-auth: Turnpike's key-auth plugin against nginx with a `map` on the apikey header ----------

def bench_key(consumers):
    """The key wrk sends: the last one, so a map or hash table of all keys is really consulted."""
    return f"key-{consumers - 1:08d}"


def keyauth_yaml(consumers):
    lines = ["        plugins:\n          - name: key-auth\n", "consumers:\n"]
    for i in range(consumers):
        lines.append(f"  - username: user-{i}\n    keyauth_credentials:\n      - key: key-{i:08d}\n")
    return "".join(lines)


def start_turnpike_keyauth(consumers):
    def start(env):
        return start_turnpike_with(env, f"turnpike-keyauth-{consumers}", keyauth_yaml(consumers),
                                   headers={"apikey": bench_key(consumers)})
    return start


# ---- jwt: HS256 and RS256 tokens, 1 and 100,000 consumers (issue #15) -----------------------------

def b64url(data):
    import base64
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def bench_rsa_key():
    """One RSA-2048 key (the same for every consumer: what is measured is the lookup and one
    verification), made once per run."""
    from cryptography.hazmat.primitives.asymmetric import rsa
    if not hasattr(bench_rsa_key, "key"):
        bench_rsa_key.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return bench_rsa_key.key


def jwt_token(alg, key):
    import hashlib, hmac, json
    header = b64url(json.dumps({"typ": "JWT", "alg": alg}).encode())
    claims = b64url(json.dumps({"iss": key}).encode())
    signing = f"{header}.{claims}".encode()
    if alg == "HS256":
        signature = hmac.new(f"secret-{key}".encode(), signing, hashlib.sha256).digest()
    else:
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import padding
        signature = bench_rsa_key().sign(signing, padding.PKCS1v15(), hashes.SHA256())
    return f"{header}.{claims}.{b64url(signature)}"


def jwt_yaml(alg, consumers):
    lines = ["        plugins:\n          - name: jwt\n", "consumers:\n"]
    if alg == "RS256":
        from cryptography.hazmat.primitives import serialization
        pem = bench_rsa_key().public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
        quoted = json_quote(pem)
    for i in range(consumers):
        key = f"jwt-{i:08d}"
        if alg == "HS256":
            credential = f"{{key: {key}, secret: secret-{key}}}"
        else:
            # One PEM, aliased: the file stays small; each credential still parses it at load.
            value = f"&pem {quoted}" if i == 0 else "*pem"
            credential = f"{{key: {key}, algorithm: RS256, rsa_public_key: {value}}}"
        lines.append(f"  - username: user-{i}\n    jwt_secrets:\n      - {credential}\n")
    return "".join(lines)


def json_quote(text):
    import json
    return json.dumps(text)


def start_turnpike_jwt(alg, consumers):
    def start(env):
        key = f"jwt-{consumers - 1:08d}"
        return start_turnpike_with(env, f"turnpike-jwt-{alg.lower()}-{consumers}", jwt_yaml(alg, consumers),
                                   headers={"Authorization": "Bearer " + jwt_token(alg, key)})
    return start


def start_turnpike_ratelimit(env):
    """key-auth (1 consumer) plus rate-limiting, local policy, a limit never reached: what counting
    costs over key-auth alone."""
    extra = ("        plugins:\n          - name: key-auth\n"
             "          - name: rate-limiting\n            config: {minute: 1000000000, limit_by: consumer}\n"
             "consumers:\n  - username: user-0\n    keyauth_credentials:\n      - key: key-00000000\n")
    return start_turnpike_with(env, "turnpike-ratelimit-local", extra, headers={"apikey": bench_key(1)})


def start_turnpike_ratelimit_redis(env):
    """The same with `policy: redis`, against a local redis-server on the load core: one pipelined
    round trip per request, waited for without blocking the loop."""
    d = os.path.abspath(os.path.join(WORK_DIR, "redis"))
    os.makedirs(d, exist_ok=True)
    redis_port = free_port()
    r = PROCS.start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--dir", d, "--loglevel", "warning"],
                    os.path.join(d, "redis.log"), cpu=env.args.load_cpu)
    deadline = time.time() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", redis_port), timeout=0.5).close()
            break
        except OSError:
            if time.time() > deadline or r.poll() is not None:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
    extra = ("        plugins:\n          - name: key-auth\n"
             "          - name: rate-limiting\n"
             "            config: {minute: 1000000000, limit_by: consumer, policy: redis, fault_tolerant: false,\n"
             f"                     redis: {{host: 127.0.0.1, port: {redis_port}}}}}\n"
             "consumers:\n  - username: user-0\n    keyauth_credentials:\n      - key: key-00000000\n")
    target = start_turnpike_with(env, "turnpike-ratelimit-redis", extra, headers={"apikey": bench_key(1)})
    stop = target.stop
    target.stop = lambda: (stop(), PROCS.stop(r))
    return target


def start_turnpike_cors(env):
    """cors on the route (issue #14), `Origin` sent: what an allowed origin's headers cost on
    every answer (Access-Control-Allow-Origin, Vary, credentials, exposed headers)."""
    extra = ("        plugins:\n          - name: cors\n"
             "            config: {origins: [\"http://app.test\", \"https://app.test\"], credentials: true,\n"
             "                     exposed_headers: [x-request-id]}\n")
    return start_turnpike_with(env, "turnpike-cors", extra, headers={"Origin": "http://app.test"})


def start_turnpike_shaping(env):
    """cors plus request-transformer with two header edits (issue #14's case): the cost of the
    most common shaping pair over plain proxying."""
    extra = ("        plugins:\n          - name: cors\n"
             "            config: {origins: [\"http://app.test\", \"https://app.test\"], credentials: true}\n"
             "          - name: request-transformer\n"
             "            config: {add: {headers: [\"X-Gateway:turnpike\"]}, remove: {headers: [x-debug]}}\n")
    return start_turnpike_with(env, "turnpike-cors-transformer", extra, headers={"Origin": "http://app.test"})


def start_nginx_map(consumers):
    def start(env):
        port = free_port()
        entries = "".join(f"        key-{i:08d} user-{i};\n" for i in range(consumers))
        http = ("    map_hash_max_size 262144;\n    map_hash_bucket_size 128;\n"
                "    map $http_apikey $bench_consumer {\n        default \"\";\n" + entries + "    }\n"
                + PROXY_HTTP.format(upstream_port=env.upstream_port, port=port,
                                    extra='            if ($bench_consumer = "") { return 401; }\n'
                                          '            proxy_set_header X-Consumer-Username $bench_consumer;\n'))
        n = Nginx(f"nginx-map-{consumers}", http, env.args.proxy_cpu)
        headers = {"apikey": bench_key(consumers)}
        wait_ready(n.proc, port, "/bench/hello", headers)
        return Target(port=port, path="/bench/hello", cpu_pids=n.cpu_pids, stop=n.stop, headers=headers)
    return start


# ---- TLS: the same certificate (ECDSA P-256) and TLS 1.3 on nginx and Turnpike ---------------------

NGINX_TLS = """\
    upstream bench_upstream {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
        keepalive_requests 100000;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {cert};
        ssl_certificate_key {key};
        ssl_protocols TLSv1.3;
        location /bench/ {{
            proxy_pass {scheme}://bench_upstream/;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_ssl_protocols TLSv1.2 TLSv1.3;
        }}
    }}
"""


def start_nginx_tls(name, close=False, https_upstream=False):
    def start(env):
        port = free_port()
        cert, key = bench_certificate()
        upstream = env.upstream_tls_port if https_upstream else env.upstream_port
        http = NGINX_TLS.format(upstream_port=upstream, port=port, cert=cert, key=key,
                                scheme="https" if https_upstream else "http")
        n = Nginx(name, http, env.args.proxy_cpu)
        wait_ready(n.proc, port, "/bench/hello", tls=True)
        return Target(port=port, path="/bench/hello", cpu_pids=n.cpu_pids, stop=n.stop, tls=True, close=close)
    return start


def start_turnpike_tls(name, close=False, https_upstream=False):
    def start(env):
        d = os.path.abspath(os.path.join(WORK_DIR, name))
        os.makedirs(d, exist_ok=True)
        config = os.path.join(d, "kong.yaml")
        write_kong_yaml(config, env.upstream_tls_port if https_upstream else env.upstream_port)
        if https_upstream:
            with open(config) as f:
                text = f.read()
            with open(config, "w") as f:
                f.write(text.replace("url: http://127.0.0.1:", "url: https://127.0.0.1:"))
        cert, key = bench_certificate()
        port, admin = free_port(), free_port()
        argv = [os.path.abspath(env.args.binary), "start", "--config", config,
                "--proxy-listen", f"127.0.0.1:{port} ssl", "--admin-listen", f"127.0.0.1:{admin}",
                "--ssl-cert", cert, "--ssl-cert-key", key, "--workers", "1"] + env.args.turnpike_arg
        p = PROCS.start(argv, os.path.join(d, "stderr.log"), cpu=env.args.proxy_cpu)
        wait_ready(p, port, "/bench/hello", tls=True)
        return Target(port=port, path="/bench/hello", cpu_pids=lambda: [p.pid], stop=lambda: PROCS.stop(p),
                      tls=True, close=close)
    return start


CASES: List[Case] = [
    Case("direct", "wrk -> upstream nginx (no proxy)", start_direct),
    Case("nginx-proxy", "nginx reverse proxy (1 worker, upstream keepalive 64)", start_nginx_proxy),
    Case("nginx-proxy-headers", "nginx-proxy + Kong's forwarding headers (as Turnpike sends)",
         start_nginx_proxy_headers, default=False),
    Case("turnpike", "turnpike start --workers 1, one service + route /bench", start_turnpike),
    Case("turnpike-access-log", "turnpike with --access-log json (Kong's log entry per request)",
         start_turnpike_access_log),
    Case("nio-relay", "turnpike-bench nio-relay: SwiftNIO byte relay, no HTTP (the NIO floor)",
         start_nio_relay),
    Case("nginx-map-1", "nginx-proxy + map on the apikey header, 1 key", start_nginx_map(1)),
    Case("turnpike-keyauth-1", "turnpike + key-auth on the route, 1 consumer", start_turnpike_keyauth(1)),
    Case("nginx-map-100k", "nginx-proxy + map on the apikey header, 100,000 keys", start_nginx_map(100_000)),
    Case("turnpike-keyauth-100k", "turnpike + key-auth, 100,000 consumers", start_turnpike_keyauth(100_000)),
    Case("turnpike-jwt-hs256-1", "turnpike + jwt (HS256), 1 consumer", start_turnpike_jwt("HS256", 1)),
    Case("turnpike-jwt-hs256-100k", "turnpike + jwt (HS256), 100,000 consumers", start_turnpike_jwt("HS256", 100_000)),
    Case("turnpike-jwt-rs256-1", "turnpike + jwt (RS256, 2048-bit key), 1 consumer", start_turnpike_jwt("RS256", 1)),
    Case("turnpike-jwt-rs256-100k", "turnpike + jwt (RS256), 100,000 consumers",
         start_turnpike_jwt("RS256", 100_000)),
    Case("turnpike-ratelimit-local", "turnpike + key-auth + rate-limiting (local policy), 1 consumer",
         start_turnpike_ratelimit),
    Case("turnpike-ratelimit-redis", "turnpike + key-auth + rate-limiting (redis policy, local redis-server)",
         start_turnpike_ratelimit_redis),
    Case("turnpike-cors", "turnpike + cors (a list of origins, credentials), Origin sent",
         start_turnpike_cors),
    Case("turnpike-cors-transformer", "turnpike + cors + request-transformer (two header edits)",
         start_turnpike_shaping),
    Case("nginx-tls", "nginx terminating TLS 1.3 (ECDSA P-256), keep-alive", start_nginx_tls("nginx-tls")),
    Case("turnpike-tls", "turnpike ssl listener, same certificate, keep-alive", start_turnpike_tls("turnpike-tls")),
    Case("nginx-tls-handshake", "nginx TLS, a new connection and handshake per request",
         start_nginx_tls("nginx-tls-handshake", close=True)),
    Case("turnpike-tls-handshake", "turnpike TLS, a new connection and handshake per request",
         start_turnpike_tls("turnpike-tls-handshake", close=True)),
    Case("nginx-https-upstream", "nginx TLS to an HTTPS upstream (keep-alive both sides)",
         start_nginx_tls("nginx-https-upstream", https_upstream=True)),
    Case("turnpike-https-upstream", "turnpike TLS to an HTTPS upstream (keep-alive both sides)",
         start_turnpike_tls("turnpike-https-upstream", https_upstream=True)),
]


@dataclasses.dataclass
class Comparison:
    candidate: str   # e.g. turnpike
    baseline: str    # e.g. nginx-proxy


COMPARISONS: List[Comparison] = [
    Comparison("turnpike", "nginx-proxy"),
    Comparison("turnpike-keyauth-1", "nginx-map-1"),
    Comparison("turnpike-keyauth-100k", "nginx-map-100k"),
    Comparison("turnpike-tls", "nginx-tls"),
    Comparison("turnpike-tls-handshake", "nginx-tls-handshake"),
    Comparison("turnpike-https-upstream", "nginx-https-upstream"),
]


# ---------------------------------------------------------------------------------------------
# wrk

UNIT_US = {"us": 1.0, "ms": 1e3, "s": 1e6, "m": 60e6, "h": 3600e6}


def to_us(text):
    m = re.fullmatch(r"([\d.]+)(us|ms|s|m|h)", text)
    if not m:
        raise ValueError(f"unparsable wrk latency {text!r}")
    return float(m.group(1)) * UNIT_US[m.group(2)]


def parse_wrk(out):
    def grab(pattern, conv=float, default=None):
        m = re.search(pattern, out, re.M)
        return conv(m.group(1)) if m else default

    r = {
        "rps": grab(r"^Requests/sec:\s+([\d.]+)"),
        "requests": grab(r"^\s*(\d+) requests in ", int),
        "seconds": grab(r"requests in ([\d.]+\w+),", to_us),
        "p50_us": grab(r"^\s+50(?:\.000)?%\s+(\S+)", to_us),
        "p75_us": grab(r"^\s+75(?:\.000)?%\s+(\S+)", to_us),
        "p90_us": grab(r"^\s+90(?:\.000)?%\s+(\S+)", to_us),
        "p99_us": grab(r"^\s+99(?:\.000)?%\s+(\S+)", to_us),
        "non2xx": grab(r"Non-2xx or 3xx responses:\s+(\d+)", int, 0),
        "socket_errors": {},
    }
    if r["seconds"] is not None:
        r["seconds"] /= 1e6
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if m:
        r["socket_errors"] = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"), m.groups())
                              if int(v)}
    missing = [k for k in ("rps", "requests", "p50_us", "p99_us") if r[k] is None]
    if missing:
        raise RuntimeError(f"could not parse {missing} from wrk output:\n{out}")
    return r


def wrk(args, target, duration):
    url = f"{'https' if target.tls else 'http'}://127.0.0.1:{target.port}{target.path}"
    argv = ["taskset", "-c", str(args.load_cpu), "wrk", "-t1", f"-c{args.connections}", f"-d{duration}s",
            "--latency"]
    for k, v in target.headers.items():
        argv += ["-H", f"{k}: {v}"]
    if target.close:
        argv += ["-H", "Connection: close"]
    argv.append(url)
    # wrk is short-lived and runs in the foreground; tracked so Ctrl-C also stops it.
    log = os.path.join(WORK_DIR, "wrk.log")
    with open(log, "w") as f:
        f.write(" ".join(argv) + "\n")
    p = PROCS.start(argv, log)
    try:
        p.wait(duration + 30)
    except subprocess.TimeoutExpired:
        raise RuntimeError(f"wrk did not finish: {argv}")
    finally:
        PROCS.stop(p)
    out = tail(log, 1000)
    if p.returncode != 0:
        raise RuntimeError(f"wrk exited {p.returncode}:\n{out}")
    return parse_wrk(out), out


def run_case(args, env, case):
    print(f"[{case.name}] {case.description}", flush=True)
    target = case.start(env)
    try:
        pids = target.cpu_pids()
        runs = []
        for i in range(args.runs):
            wrk(args, target, args.warmup)
            before = cpu_seconds(pids) if pids else None
            user_before = user_seconds(pids) if pids else None
            up_before = cpu_seconds(env.upstream.cpu_pids())
            accepts_before, requests_before = upstream_status(env.upstream_port)
            r, _ = wrk(args, target, args.duration)
            accepts_after, requests_after = upstream_status(env.upstream_port)
            # Minus the status request itself; `direct` includes wrk's own connections.
            r["upstream_connections"] = accepts_after - accepts_before - 1
            r["upstream_requests"] = requests_after - requests_before - 1
            if pids:
                r["cpu_s"] = cpu_seconds(pids) - before
                r["cpu_us_per_req"] = r["cpu_s"] / r["requests"] * 1e6 if r["requests"] else None
                r["user_us_per_req"] = ((user_seconds(pids) - user_before) / r["requests"] * 1e6
                                        if r["requests"] else None)
            else:
                r["cpu_s"] = r["cpu_us_per_req"] = r["user_us_per_req"] = None
            r["upstream_cpu_us_per_req"] = ((cpu_seconds(env.upstream.cpu_pids()) - up_before)
                                            / r["requests"] * 1e6 if r["requests"] else None)
            runs.append(r)
            print(f"  run {i + 1}/{args.runs}: {r['rps']:.0f} req/s, p50 {fmt_us(r['p50_us'])}, "
                  f"p99 {fmt_us(r['p99_us'])}, CPU/req {fmt_cpu(r['cpu_us_per_req'])}"
                  + f" (user {fmt_cpu(r['user_us_per_req'])})"
                  + f", upstream conns {r['upstream_connections']}"
                  + (f", NON-2xx {r['non2xx']}" if r["non2xx"] else "")
                  + (f", socket errors {r['socket_errors']}" if r["socket_errors"] else ""), flush=True)
    finally:
        target.stop()
    # Median run by RPS (lower median for an even count).
    median = sorted(runs, key=lambda r: r["rps"])[(len(runs) - 1) // 2]
    return {"description": case.description, "median": median, "runs": runs}


# ---------------------------------------------------------------------------------------------
# Report

def fmt_us(v):
    if v is None:
        return "-"
    return f"{v / 1000:.2f}ms" if v >= 1000 else f"{v:.0f}us"


def fmt_cpu(v):
    return "-" if v is None else f"{v:.2f}us"


def ratio(a, b):
    return a / b if a is not None and b else None


def report(results, args):
    print()
    print(f"wrk -t1 -c{args.connections} -d{args.duration}s, median of {args.runs} run(s); "
          f"proxy on CPU {args.proxy_cpu}, wrk + upstream on CPU {args.load_cpu}")
    hdr = f"{'case':<22} {'RPS':>10} {'p50':>9} {'p99':>9} {'CPU/req':>9} {'user/req':>9} {'errors':>8}"
    print(hdr)
    print("-" * len(hdr))
    for name, res in results.items():
        m = res["median"]
        errs = sum(r["non2xx"] for r in res["runs"]) + sum(sum(r["socket_errors"].values()) for r in res["runs"])
        print(f"{name:<22} {m['rps']:>10.0f} {fmt_us(m['p50_us']):>9} {fmt_us(m['p99_us']):>9} "
              f"{fmt_cpu(m['cpu_us_per_req']):>9} {fmt_cpu(m.get('user_us_per_req')):>9} {errs:>8}")
    comparisons = []
    for c in COMPARISONS:
        if c.candidate not in results or c.baseline not in results:
            continue
        a, b = results[c.candidate]["median"], results[c.baseline]["median"]
        cmp = {
            "candidate": c.candidate, "baseline": c.baseline,
            "rps_ratio": ratio(a["rps"], b["rps"]),
            "p99_ratio": ratio(a["p99_us"], b["p99_us"]),
            "cpu_per_req_ratio": ratio(a["cpu_us_per_req"], b["cpu_us_per_req"]),
        }
        cmp["targets"] = {
            "cpu_per_req": cmp["cpu_per_req_ratio"] is not None and cmp["cpu_per_req_ratio"] <= 1.0,
            "rps": cmp["rps_ratio"] is not None and cmp["rps_ratio"] >= 1.0,
            "p99": cmp["p99_ratio"] is not None and cmp["p99_ratio"] <= 1.0,
        }
        comparisons.append(cmp)
        f = lambda v: "-" if v is None else f"{v:.2f}x"
        print()
        print(f"{c.candidate} / {c.baseline}: RPS {f(cmp['rps_ratio'])} (higher is better), "
              f"p99 {f(cmp['p99_ratio'])} (lower is better), CPU/req {f(cmp['cpu_per_req_ratio'])} (lower is better)")
        verdict = lambda ok: "PASS" if ok else "FAIL"
        print(f"  {verdict(cmp['targets']['cpu_per_req'])}  CPU/request {fmt_cpu(a['cpu_us_per_req'])} "
              f"<= {c.baseline} {fmt_cpu(b['cpu_us_per_req'])}")
        print(f"  {verdict(cmp['targets']['rps'])}  RPS {a['rps']:.0f} >= {c.baseline} {b['rps']:.0f}")
        print(f"  {verdict(cmp['targets']['p99'])}  p99 {fmt_us(a['p99_us'])} <= {c.baseline} {fmt_us(b['p99_us'])}")
    return comparisons


def main():
    names = [c.name for c in CASES]
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--duration", type=int, default=10, help="seconds per measured run (default 10)")
    ap.add_argument("--connections", type=int, default=50, help="wrk connections (default 50)")
    ap.add_argument("--runs", type=int, default=3, help="measured runs per case; the median is reported (default 3)")
    ap.add_argument("--warmup", type=int, default=1, help="seconds of discarded warm-up before each run (default 1)")
    ap.add_argument("--binary", default=".build/release/turnpike")
    ap.add_argument("--cases", default=",".join(c.name for c in CASES if c.default),
                    help=f"comma list from: {', '.join(names)} (default: %(default)s)")
    ap.add_argument("--quick", action="store_true", help="smoke test: --duration 2 --runs 1")
    ap.add_argument("--proxy-cpu", type=int, default=0, help="core for the proxy under test (default 0)")
    ap.add_argument("--load-cpu", type=int, default=1, help="core for wrk and the upstream (default 1)")
    ap.add_argument("--turnpike-arg", action="append", default=[],
                    help="extra argument for `turnpike start` (repeatable), e.g. --turnpike-arg=--log-level=warning")
    ap.add_argument("--json", default=JSON_OUT)
    args = ap.parse_args()
    if args.quick:
        args.duration, args.runs = 2, 1
    selected = [n.strip() for n in args.cases.split(",") if n.strip()]
    unknown = [n for n in selected if n not in names]
    if unknown or not selected:
        ap.error(f"unknown case(s) {unknown}; known: {', '.join(names)}")
    if args.duration < 1 or args.runs < 1 or args.connections < 1 or args.warmup < 0:
        ap.error("--duration, --runs and --connections must be >= 1, --warmup >= 0")
    cpus = os.sched_getaffinity(0)
    if args.proxy_cpu not in cpus or args.load_cpu not in cpus or args.proxy_cpu == args.load_cpu:
        sys.exit(f"need two distinct usable cores for --proxy-cpu/--load-cpu; usable: {sorted(cpus)}")
    if any(n.startswith("turnpike") for n in selected) and not os.access(args.binary, os.X_OK):
        sys.exit(f"{args.binary} not found: run `make release` first (or pass --binary)")

    signal.signal(signal.SIGTERM, _on_sigterm)
    signal.signal(signal.SIGHUP, _on_sigterm)
    ensure_packages()
    shutil.rmtree(WORK_DIR, ignore_errors=True)   # configs and logs of the previous run
    os.makedirs(WORK_DIR, exist_ok=True)
    try:
        upstream, upstream_port, upstream_tls_port = start_upstream(args.load_cpu)
        env = Env(args=args, upstream_port=upstream_port, upstream=upstream, upstream_tls_port=upstream_tls_port)
        results = {}
        for case in CASES:
            if case.name in selected:
                results[case.name] = run_case(args, env, case)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130
    except (RuntimeError, OSError, subprocess.CalledProcessError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    finally:
        PROCS.stop_all()

    comparisons = report(results, args)
    doc = {
        "settings": {k: getattr(args, k) for k in ("duration", "connections", "runs", "warmup", "binary",
                                                   "proxy_cpu", "load_cpu", "turnpike_arg")},
        "environment": {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "kernel": platform.release(),
            "cpu": cpu_model(),
            "cores": os.cpu_count(),
            "nginx": version_of([nginx_binary(), "-v"]),
            "wrk": version_of(["wrk", "-v"]),
            "turnpike": version_of([args.binary, "--version"]) if os.access(args.binary, os.X_OK) else None,
            "turnpike_mtime": (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(os.path.getmtime(args.binary)))
                               if os.path.exists(args.binary) else None),
        },
        "cases": results,
        "comparisons": comparisons,
    }
    with open(args.json, "w") as f:
        json.dump(doc, f, indent=2)
    print(f"\nresults: {args.json}")
    bad = [n for n, r in results.items() if any(run["non2xx"] for run in r["runs"])]
    if bad:
        print(f"ERROR: non-2xx responses in {', '.join(bad)}: those figures are not comparable", file=sys.stderr)
        return 1
    return 0


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


if __name__ == "__main__":
    sys.exit(main())
