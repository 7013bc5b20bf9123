"""Worker node benchmark (root): real containers under crun on this machine. Prints JSON.

- cold start: `skiff up` on an empty data directory until its Node is Ready (median of N).
- pod startup latency: N pods of a local busybox image created at once on one node
  (`skiff server` + a separate `skiff agent`), create → Running as a watch sees it; p50/p99,
  and the start throughput (pods / seconds from the first create to the last Running).
- the floor, same run: bare `crun create` + `start` + `delete` of the same image's rootfs.
- the agent's RSS with those N pods running.

Usage: .venv/bin/python Benchmarks/pod_startup.py [--pods 100] [--cold-starts 3] [--skiff PATH]"""

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
import conftest  # noqa: E402
import images  # noqa: E402
from test_node import Up  # noqa: E402
from kubernetes import client, config, watch  # noqa: E402

CLUSTER_CIDR = "10.42.0.0/16"


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def rss_mb(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0


def rss_breakdown_mb(pid):
    """RSS split into anonymous memory (heap, stacks: the process's own) and file-backed
    pages (code of the binary and libraries, shared with every process mapping them), and
    PSS (shared pages divided among their sharers), from /proc/PID/smaps_rollup."""
    fields = {}
    for line in open(f"/proc/{pid}/smaps_rollup"):
        parts = line.split()
        if len(parts) == 3 and parts[2] == "kB":
            fields[parts[0].rstrip(":")] = int(parts[1]) / 1024
    return {"anonymous": round(fields.get("Anonymous", 0), 1), "file_backed": round(fields.get("Rss", 0) - fields.get("Anonymous", 0), 1),
            "pss": round(fields.get("Pss", 0), 1)}


def cleanup_node(data_dir):
    Up.remove_containers_and_mounts(data_dir)
    subprocess.run(["nft", "delete", "table", "ip", "skiff_node"], capture_output=True)
    subprocess.run([conftest.SKIFF, "agent", "--cleanup-proxy"], capture_output=True)
    subprocess.run(["ip", "link", "del", "cni0"], capture_output=True)
    shutil.rmtree(data_dir, ignore_errors=True)


def node_ready(api):
    for n in api.list_node().items:
        for c in (n.status.conditions if n.status else None) or []:
            if c.type == "Ready" and c.status == "True":
                return True
    return False


def cold_start():
    data_dir = tempfile.mkdtemp(prefix="skiff-bench-up-")
    port, kubelet_port = conftest.free_port(), conftest.free_port()
    start = time.time()
    proc = subprocess.Popen([conftest.SKIFF, "up", "--data-dir", data_dir, "--port", str(port), "--bind-address", "127.0.0.1",
                             "--kubelet-port", str(kubelet_port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        kubeconfig = os.path.join(data_dir, "server", "kubeconfig.yaml")
        api = None
        while time.time() - start < 60:
            try:
                if api is None and os.path.exists(kubeconfig):
                    api = client.CoreV1Api(config.new_client_from_config(kubeconfig))
                if api is not None and node_ready(api):
                    return time.time() - start
            except Exception:  # not listening yet
                api = None
            time.sleep(0.01)
        raise RuntimeError("node never Ready")
    finally:
        proc.terminate()
        proc.wait(timeout=60)
        cleanup_node(data_dir)


def crun_floor(rootfs, runs=20):
    """Bare crun create+start+delete of a `true` container on the image's rootfs, with the
    cgroup2 mount hidden as the agent does on hybrid hosts (LAB.md)."""
    bundle = tempfile.mkdtemp(prefix="skiff-bench-crun-")
    subprocess.run(["crun", "spec"], cwd=bundle, check=True)
    spec = json.load(open(os.path.join(bundle, "config.json")))
    spec["process"]["terminal"] = False
    spec["process"]["args"] = ["/bin/sleep", "1000"]
    spec["root"] = {"path": rootfs, "readonly": True}
    spec["linux"]["namespaces"] = [n for n in spec["linux"]["namespaces"] if n["type"] != "network"]
    json.dump(spec, open(os.path.join(bundle, "config.json"), "w"))
    hybrid = os.path.exists("/sys/fs/cgroup/unified/cgroup.controllers") and open("/sys/fs/cgroup/unified/cgroup.controllers").read().strip()
    create = (["unshare", "-m", "--propagation", "private", "sh", "-c", 'umount /sys/fs/cgroup/unified && exec crun "$@"', "crun"]
              if hybrid else ["crun"])
    times = []
    for i in range(runs):
        name = f"skiff-bench-{os.getpid()}-{i}"
        t0 = time.time()
        subprocess.run(create + ["create", "--bundle", bundle, name], check=True, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        subprocess.run(["crun", "start", name], check=True)
        t1 = time.time()
        subprocess.run(["crun", "delete", "-f", name], check=True)
        times.append((t1 - t0) * 1000)
    shutil.rmtree(bundle, ignore_errors=True)
    return statistics.median(times)


def run_pods(api, count, interval, prefix):
    """Creates `count` busybox pods, `interval` seconds apart; returns when a watch has seen
    every one Running, with the create and Running times."""
    rv = api.list_namespaced_pod("default").metadata.resource_version
    created, running = {}, {}
    done = threading.Event()

    def watcher():
        w = watch.Watch()
        for e in w.stream(api.list_namespaced_pod, "default", resource_version=rv, timeout_seconds=300):
            p = e["object"]
            if p.status.phase == "Running" and p.metadata.name.startswith(prefix) and p.metadata.name not in running:
                running[p.metadata.name] = time.time()
                if len(running) == count:
                    done.set()
                    w.stop()
    threading.Thread(target=watcher, daemon=True).start()
    time.sleep(0.5)
    for i in range(count):
        name = f"{prefix}-{i}"
        body = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                "spec": {"terminationGracePeriodSeconds": 0, "containers": [{
                    "name": "c", "image": "docker.io/library/busybox:latest", "imagePullPolicy": "IfNotPresent",
                    "command": ["sleep", "3600"]}]}}
        created[name] = time.time()
        api.create_namespaced_pod("default", body)
        if interval:
            time.sleep(interval)
    if not done.wait(300):
        raise RuntimeError(f"only {len(running)} of {count} pods Running")
    return {"created": created, "running": running}


def pod_startup(pods, archive):
    data_dir = tempfile.mkdtemp(prefix="skiff-bench-node-")
    server = conftest.Server(extra=["--in-memory"]).start()
    token = open(os.path.join(server.data_dir, "token")).read().strip()
    subprocess.run([conftest.SKIFF, "images", "import", archive, "--data-dir", data_dir], check=True, capture_output=True)
    agent = subprocess.Popen([conftest.SKIFF, "agent", "--server", server.url, "--token", token, "--data-dir", data_dir,
                              "--kubelet-port", str(conftest.free_port())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        api = client.CoreV1Api(config.new_client_from_config(server.kubeconfig))
        while not node_ready(api):
            time.sleep(0.05)
        time.sleep(2)
        idle_rss = rss_mb(agent.pid)
        # Latency: pods created one after another, 5 per second (as the kubelet's density
        # test paces them), each timed from create to Running.
        paced = run_pods(api, pods, interval=0.2, prefix="paced")
        latencies = [paced["running"][n] - paced["created"][n] for n in paced["created"]]
        for name in paced["created"]:
            api.delete_namespaced_pod(name, "default", grace_period_seconds=0)
        while api.list_namespaced_pod("default").items:
            time.sleep(0.2)
        # Throughput: all at once, first create to last Running.
        burst = run_pods(api, pods, interval=0, prefix="burst")
        throughput = pods / (max(burst["running"].values()) - min(burst["created"].values()))
        burst_latencies = [burst["running"][n] - burst["created"][n] for n in burst["created"]]
        time.sleep(2)
        agent_rss = rss_mb(agent.pid)
        ms = lambda v: round(v * 1000, 1)  # noqa: E731
        return {"paced_5_per_s": {"p50_ms": ms(percentile(latencies, 50)), "p99_ms": ms(percentile(latencies, 99))},
                "burst": {"throughput_pods_per_s": round(throughput, 1), "p50_ms": ms(percentile(burst_latencies, 50)),
                          "p99_ms": ms(percentile(burst_latencies, 99))},
                "agent_rss_mb_with_pods_running": round(agent_rss, 1), "agent_rss_mb_breakdown": rss_breakdown_mb(agent.pid),
                "agent_rss_mb_idle": round(idle_rss, 1)}
    finally:
        agent.terminate()
        agent.wait(timeout=60)
        server.cleanup()
        cleanup_node(data_dir)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--pods", type=int, default=100)
    parser.add_argument("--cold-starts", type=int, default=3)
    parser.add_argument("--skiff", default=conftest.SKIFF)
    args = parser.parse_args()
    conftest.SKIFF = args.skiff
    if os.geteuid() != 0:
        sys.exit("pod_startup.py needs root (real containers)")
    subprocess.run(["ip", "route", "replace", "unreachable", CLUSTER_CIDR], check=True)
    work = tempfile.mkdtemp(prefix="skiff-bench-img-")
    try:
        layout = images.build_busybox_image(work, "latest")
        archive = os.path.join(work, "busybox.tar")
        images.oci_archive(layout, "latest", archive, "docker.io/library/busybox:latest")
        rootfs = os.path.join(work, "floor-rootfs")
        os.makedirs(os.path.join(rootfs, "bin"))
        for d in ["proc", "sys", "dev", "tmp", "etc"]:
            os.makedirs(os.path.join(rootfs, d))
        shutil.copy2("/bin/busybox", os.path.join(rootfs, "bin", "busybox"))
        os.symlink("busybox", os.path.join(rootfs, "bin", "sleep"))
        cold = [cold_start() for _ in range(args.cold_starts)]
        floor = crun_floor(rootfs)
        startup = pod_startup(args.pods, archive)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        subprocess.run(["ip", "route", "del", "unreachable", CLUSTER_CIDR], capture_output=True)
    print(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.release()}",
        "skiff_up_cold_start_to_node_ready_s": {"median": round(statistics.median(cold), 2), "runs": [round(c, 2) for c in cold]},
        "crun_create_start_floor_ms_median": round(floor, 1),
        f"pod_startup_{args.pods}_pods": startup,
    }, indent=2))


if __name__ == "__main__":
    main()
