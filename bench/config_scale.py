#!/usr/bin/env python3
"""Config-scale benchmark: parse + validate + build of a large Kong declarative file.

Generates a kong.yaml with N services (one route each), M consumers with one key-auth
credential each and a key-auth plugin per route, then runs `turnpike validate` on it several
times and reports the median wall time and the peak RSS of the process. Not a test: numbers
depend on the machine.
"""
import argparse
import os
import statistics
import subprocess
import sys
import time


def generate(path, services, consumers):
    with open(path, "w") as f:
        w = f.write
        w('_format_version: "3.0"\n')
        w("services:\n")
        for i in range(services):
            w(f"  - name: svc-{i}\n    url: http://10.0.{i // 250 % 256}.{i % 250 + 1}:8080/api/{i}\n")
            w(f"    routes:\n      - name: route-{i}\n        paths: [/svc/{i}]\n")
            w("        methods: [GET, POST]\n")
            if i % 10 == 0:
                w("        plugins:\n          - name: key-auth\n")
        w("consumers:\n")
        for i in range(consumers):
            w(f"  - username: user-{i}\n    custom_id: cid-{i}\n")
            w(f"    keyauth_credentials:\n      - key: key-{i:08d}-{(i * 2654435761) % 4294967296:08x}\n")


def run(binary, path):
    start = time.monotonic()
    proc = subprocess.Popen([binary, "validate", "--quiet", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    err = proc.stderr.read().decode()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"validate exited {code}: {err[:2000]}")
    return elapsed, usage.ru_maxrss / 1024.0  # ru_maxrss is in KiB on Linux


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--binary", default=".build/release/turnpike")
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--consumers", type=int, default=100_000)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default="bench-out/config-scale.yaml")
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    generate(args.out, args.services, args.consumers)
    size = os.path.getsize(args.out)
    results = [run(args.binary, args.out) for _ in range(args.runs)]
    times = sorted(r[0] for r in results)
    rss = max(r[1] for r in results)
    print(f"config: {args.services} services, {args.services} routes, {args.consumers} consumers "
          f"with key-auth credentials, {size / 1e6:.1f} MB")
    print(f"turnpike validate (parse + validate + build), {args.runs} runs: "
          f"median {statistics.median(times):.3f} s, min {times[0]:.3f} s, max {times[-1]:.3f} s")
    print(f"peak RSS: {rss:.0f} MiB")


if __name__ == "__main__":
    main()
