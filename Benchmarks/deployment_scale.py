"""Deployment scale benchmark: a Deployment scaled from 0 to 10,000 replicas on 1,000
simulated nodes (`skiff agent --simulate 1000`, one process), through the real server
over HTTPS: seconds from `kubectl scale` until the rollout is complete (as `kubectl
rollout status` judges it) and every pod is Running. Prints JSON.

Usage: .venv/bin/python Benchmarks/deployment_scale.py [--runs N] [--nodes N] [--replicas N] [--skiff PATH]"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
import conftest  # noqa: E402


def rollout_complete(d, replicas):
    s = d.get("status", {})
    return (s.get("observedGeneration", 0) >= d["metadata"]["generation"] and s.get("updatedReplicas") == replicas
            and s.get("replicas") == replicas and s.get("availableReplicas") == replicas)


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def one_run(nodes, replicas):
    # 10.42.0.0/16 (the default) holds only 256 node ranges of /24.
    server = conftest.Server(extra=["--in-memory", "--cluster-cidr", "10.32.0.0/12"]).start()
    token = open(os.path.join(server.data_dir, "token")).read().strip()
    agent = subprocess.Popen([conftest.SKIFF, "agent", "--server", server.url, "--token", token, "--simulate", str(nodes),
                              "--node-cpu", "32", "--node-memory", "256Gi", "--node-pods", "110"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        k = conftest.Kubectl(conftest.default_kubectl(), server.kubeconfig, "default")
        while True:
            items = json.loads(k("get", "nodes", "-o", "json", timeout=120))["items"]
            if len(items) == nodes and all(n.get("spec", {}).get("podCIDR") for n in items):
                break
            time.sleep(1)
        k("create", "deployment", "web", "--image=nginx", "--replicas=0")
        k("rollout", "status", "deployment/web", "--timeout=60s")
        start = time.time()
        k("scale", "deployment/web", f"--replicas={replicas}")
        while not rollout_complete(json.loads(k("get", "deployment", "web", "-o", "json")), replicas):
            time.sleep(0.2)
        complete = time.time() - start
        pods = json.loads(k("get", "pods", "-o", "json", timeout=300))["items"]
        running = [p for p in pods if p["status"].get("phase") == "Running" and p["spec"].get("nodeName")]
        assert len(running) == replicas, f"{len(running)} of {replicas} pods running"
        return complete, rss_mb(server.proc.pid)
    finally:
        agent.kill()
        agent.wait()
        server.cleanup()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--nodes", type=int, default=1000)
    p.add_argument("--replicas", type=int, default=10000)
    p.add_argument("--skiff", default=None)
    a = p.parse_args()
    if a.skiff:
        conftest.SKIFF = a.skiff
    runs = [one_run(a.nodes, a.replicas) for _ in range(a.runs)]
    times = [t for t, _ in runs]
    print(json.dumps({"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "nodes": a.nodes,
                      "replicas": a.replicas, "runs": [round(t, 2) for t in times],
                      "medianSecondsToRolledOut": round(statistics.median(times), 2),
                      "serverRSSMBAfter": [round(r) for _, r in runs]}))


if __name__ == "__main__":
    main()
