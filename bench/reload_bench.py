#!/usr/bin/env python3
"""Reload benchmark (`make bench-reload`; never part of `make test`).

1. Swap time: Turnpike runs the config-scale file (10k services, 10k routes, 100k consumers with
   key-auth credentials, every service pointing at one local nginx upstream); the file is rewritten
   with a one-byte difference and SIGHUP is sent; the time until `/status` reports the new
   generation is the swap time (median of --swaps).
2. Latency under reloads: wrk on one route for --duration seconds without reloads, then again
   with a SIGHUP every --interval seconds; p50/p99 of both and the ratio.
Proxy on core 0, wrk and the upstream on core 1, as `bench/proxy_bench.py`.
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxy_bench as pb  # noqa: E402


def write_config(path, upstream_port, services, consumers, salt):
    with open(path, "w") as f:
        w = f.write
        w(f'_format_version: "3.0"\nservices:\n')
        # A route that exists only in this version: when it answers, this version is in force.
        w(f"  - name: marker\n    url: http://127.0.0.1:{upstream_port}/\n")
        w(f"    routes:\n      - name: marker\n        paths: [/marker-{salt}]\n")
        for i in range(services):
            w(f"  - name: svc-{i}\n    url: http://127.0.0.1:{upstream_port}/\n")
            w(f"    routes:\n      - name: route-{i}\n        paths: [/svc/{i}]\n")
        w("consumers:\n")
        for i in range(consumers):
            w(f"  - username: user-{i}\n    keyauth_credentials:\n      - key: key-{i:08d}\n")


def generation(admin_port):
    with urllib.request.urlopen(f"http://127.0.0.1:{admin_port}/status", timeout=5) as r:
        return json.load(r)["configuration_generation"]


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=".build/release/turnpike")
    ap.add_argument("--services", type=int, default=10_000)
    ap.add_argument("--consumers", type=int, default=100_000)
    ap.add_argument("--swaps", type=int, default=5)
    ap.add_argument("--duration", type=int, default=10)
    ap.add_argument("--interval", type=float, default=1.0, help="seconds between reloads under load")
    ap.add_argument("--connections", type=int, default=50)
    args = ap.parse_args()
    args.load_cpu, args.proxy_cpu = 1, 0
    # This script polls while a reload runs: keep it off the proxy's core.
    os.sched_setaffinity(0, {args.load_cpu})
    signal.signal(signal.SIGTERM, pb._on_sigterm)
    pb.ensure_packages()
    os.makedirs(pb.WORK_DIR, exist_ok=True)
    config = os.path.abspath(os.path.join(pb.WORK_DIR, "reload-scale.yaml"))
    try:
        upstream, upstream_port = pb.start_upstream(args.load_cpu)
        write_config(config, upstream_port, args.services, args.consumers, 0)
        proxy_port, admin_port = pb.free_port(), pb.free_port()
        log = os.path.join(pb.WORK_DIR, "turnpike-reload.log")
        gw = pb.PROCS.start([args.binary, "start", "--config", config, "--workers", "1",
                             "--proxy-listen", f"127.0.0.1:{proxy_port}", "--admin-listen", f"127.0.0.1:{admin_port}",
                             "--log-level", "notice"], log, cpu=args.proxy_cpu)
        pb.wait_ready(gw, proxy_port, "/svc/1/hello", timeout=120)

        swaps = []
        salt = 0
        for _ in range(args.swaps):
            # Let the previous reload's background work (freeing the replaced snapshot) finish.
            time.sleep(1.5)
            salt += 1
            write_config(config, upstream_port, args.services, args.consumers, salt)
            start = time.monotonic()
            os.kill(gw.pid, signal.SIGHUP)
            # In force = the proxy routes the new version's marker path.
            while pb.http_get(proxy_port, f"/marker-{salt}/hello")[0] != 200:
                if time.monotonic() - start > 60:
                    raise RuntimeError("reload did not complete within 60 s")
                time.sleep(0.01)
            swaps.append(time.monotonic() - start)
        print(f"config: {args.services} services, {args.services} routes, {args.consumers} consumers "
              f"({os.path.getsize(config) / 1e6:.1f} MB)")
        print(f"SIGHUP -> new config in force: median {statistics.median(swaps) * 1000:.0f} ms "
              f"(min {min(swaps) * 1000:.0f}, max {max(swaps) * 1000:.0f}, {len(swaps)} swaps)")

        target = pb.Target(port=proxy_port, path="/svc/1/hello", cpu_pids=lambda: [gw.pid], stop=lambda: None)
        steady, _ = pb.wrk(args, target, args.duration)

        stop = threading.Event()
        reloads = [0]

        def reloader():
            s = salt
            while not stop.wait(args.interval):
                s += 1
                write_config(config, upstream_port, args.services, args.consumers, s)
                os.kill(gw.pid, signal.SIGHUP)
                reloads[0] += 1

        t = threading.Thread(target=reloader)
        t.start()
        try:
            loaded, _ = pb.wrk(args, target, args.duration)
        finally:
            stop.set()
            t.join()
        print(f"steady:         {steady['rps']:.0f} req/s, p50 {pb.fmt_us(steady['p50_us'])}, p99 {pb.fmt_us(steady['p99_us'])}")
        print(f"during reloads: {loaded['rps']:.0f} req/s, p50 {pb.fmt_us(loaded['p50_us'])}, p99 {pb.fmt_us(loaded['p99_us'])} "
              f"({reloads[0]} reloads, one every {args.interval:g} s)")
        print(f"p99 ratio (reloads / steady): {loaded['p99_us'] / steady['p99_us']:.2f}x (target <= 2x)")
        errors = (loaded.get("non2xx") or 0) + (steady.get("non2xx") or 0)
        if errors:
            print(f"non-2xx responses: {errors}")
            return 1
        return 0
    finally:
        pb.PROCS.stop_all()


if __name__ == "__main__":
    sys.exit(main())
