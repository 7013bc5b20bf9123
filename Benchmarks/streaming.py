"""Streaming benchmark (root): `kubectl exec` and `port-forward` against a real `skiff up`
on this machine. Prints JSON.

- exec round trip: `kubectl exec <pod> -- true` end to end, N times each with kubectl 1.33
  (WebSocket) and 1.27 (SPDY/3.1); p50/p99. Beside it, the same kubectl's `get pod` (its
  own start-up and one API call), so the exec's own cost is the difference.
- port-forward throughput: a 64 MiB file fetched over HTTP from a pod through
  `kubectl port-forward` (1.33: SPDY tunnelled in WebSocket; 1.27: SPDY) and directly from
  the pod's IP, alternating, R rounds; medians and the ratio.

Usage: SKIFF_BIN=.build/release/skiff .venv/bin/python Benchmarks/streaming.py [--execs 50] [--rounds 5]"""

import argparse
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
import images  # noqa: E402
from conftest import Kubectl, kubectl_binary  # noqa: E402
from test_node import CLUSTER_CIDR, Up, apply, pod  # noqa: E402

BLOB_MB = 64


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def timed(k, *args):
    start = time.perf_counter()
    k.run(*args)
    return (time.perf_counter() - start) * 1000


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch_mb_per_s(url):
    start = time.perf_counter()
    size = 0
    with urllib.request.urlopen(url, timeout=120) as r:
        while chunk := r.read(1 << 20):
            size += len(chunk)
    assert size == BLOB_MB << 20, size
    return size / (1 << 20) / (time.perf_counter() - start)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--execs", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="skiff-bench-")
    layout = images.build_busybox_image(workdir, "1")
    with images.LocalRegistry() as registry:
        ref = registry.push(layout, "1", "busybox:1")
        subprocess.run(["ip", "route", "replace", "unreachable", CLUSTER_CIDR], check=True)
        up = Up().start()
        try:
            k = up.kubectl()
            apply(k, pod("bench", ["sh", "-c", f"head -c {BLOB_MB << 20} /dev/zero > /tmp/blob; exec httpd -f -p 8080 -h /tmp"], ref))
            k.run("wait", "--for=condition=Ready", "pod/bench", "--timeout=90s")
            time.sleep(2)  # the blob is written before httpd starts; let the first requests settle
            pod_ip = json.loads(k.run("get", "pod", "bench", "-o", "json").stdout)["status"]["podIP"]
            result = {"machine": {"cpus": os.cpu_count(), "kernel": platform.release(),
                                  "cpu": next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "")},
                      "binary": os.environ.get("SKIFF_BIN", "debug"), "exec": {}, "port_forward": {}}
            for version in ("1.33", "1.27"):
                kv = Kubectl(kubectl_binary(version), k.kubeconfig)
                for _ in range(3):
                    timed(kv, "exec", "bench", "--", "true")  # warm-up
                execs, gets = [], []
                for _ in range(args.execs):
                    execs.append(timed(kv, "exec", "bench", "--", "true"))
                    gets.append(timed(kv, "get", "pod", "bench"))
                result["exec"][version] = {
                    "exec_p50_ms": round(percentile(execs, 50), 1), "exec_p99_ms": round(percentile(execs, 99), 1),
                    "get_p50_ms": round(percentile(gets, 50), 1),
                    "exec_minus_get_p50_ms": round(percentile(execs, 50) - percentile(gets, 50), 1), "n": args.execs}
            for version in ("1.33", "1.27"):
                kv = Kubectl(kubectl_binary(version), k.kubeconfig)
                port = free_port()
                proc = subprocess.Popen(kv.argv("port-forward", "pod/bench", f"{port}:8080"), stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
                try:
                    deadline = time.time() + 20
                    while True:
                        try:
                            socket.create_connection(("127.0.0.1", port), timeout=1).close()
                            break
                        except OSError:
                            if time.time() > deadline:
                                raise
                            time.sleep(0.1)
                    forwarded, direct = [], []
                    for _ in range(args.rounds):
                        forwarded.append(fetch_mb_per_s(f"http://127.0.0.1:{port}/blob"))
                        direct.append(fetch_mb_per_s(f"http://{pod_ip}:8080/blob"))
                finally:
                    proc.terminate()
                    proc.wait(timeout=10)
                f, d = statistics.median(forwarded), statistics.median(direct)
                result["port_forward"][version] = {"forwarded_mb_s": round(f, 1), "direct_mb_s": round(d, 1),
                                                   "ratio": round(f / d, 3), "rounds": args.rounds, "mb": BLOB_MB}
            print(json.dumps(result, indent=2))
        finally:
            up.cleanup()


if __name__ == "__main__":
    main()
