"""Node failure benchmark: seconds from an agent's death (kill -9) to every one of its
pods replaced and Running on another node, with the node grace period and the pods'
tolerationSeconds both 5 s (as the issue asks). Prints JSON.

Usage: .venv/bin/python Benchmarks/node_failure.py [--runs N] [--skiff PATH]"""

import argparse
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
import conftest  # noqa: E402


def one_run(replicas):
    server = conftest.Server(extra=["--node-monitor-grace-period", "5", "--default-toleration-seconds", "5"]).start()
    token = open(os.path.join(server.data_dir, "token")).read().strip()
    import subprocess
    agents = {name: subprocess.Popen([conftest.SKIFF, "agent", "--server", server.url, "--token", token, "--simulate", "5",
                                      "--node-name-prefix", name, "--node-lease-duration-seconds", "4"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for name in ["doomed", "survivor"]}
    try:
        k = conftest.Kubectl(conftest.default_kubectl(), server.kubeconfig, "default")
        while len(json.loads(k("get", "nodes", "-o", "json"))["items"]) < 10:
            time.sleep(0.2)
        k("create", "deployment", "web", "--image=nginx", f"--replicas={replicas}")
        k("rollout", "status", "deployment/web", "--timeout=120s")
        agents["doomed"].kill()
        died = time.time()
        while True:
            items = [p for p in json.loads(k("get", "pods", "-o", "json"))["items"] if not p["metadata"].get("deletionTimestamp")]
            running = [p for p in items if p["status"].get("phase") == "Running" and p["spec"].get("nodeName", "").startswith("survivor")]
            if len(running) == replicas and len(items) == replicas:
                return time.time() - died
            time.sleep(0.1)
    finally:
        for a in agents.values():
            a.kill()
            a.wait()
        server.cleanup()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--replicas", type=int, default=100)
    p.add_argument("--skiff", default=None)
    a = p.parse_args()
    if a.skiff:
        conftest.SKIFF = a.skiff
    times = [one_run(a.replicas) for _ in range(a.runs)]
    print(json.dumps({"machine": platform.processor() or platform.machine(), "cores": os.cpu_count(), "replicas": a.replicas,
                      "gracePeriodSeconds": 5, "tolerationSeconds": 5, "runs": [round(t, 2) for t in times],
                      "medianSecondsToReplaced": round(statistics.median(times), 2)}))


if __name__ == "__main__":
    main()
