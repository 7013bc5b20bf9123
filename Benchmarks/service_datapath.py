"""Service data path benchmark (root): HTTP requests/s from one pod to another through
its Service's ClusterIP (DNAT by the proxy's nftables rules) versus to the pod IP
directly, interleaved rounds in the same run; medians and their ratio. Prints JSON.

The pod is busybox httpd (one process per connection), so both figures are bounded by
the server: the ratio shows what the Service path adds to each new connection.

Usage: .venv/bin/python Benchmarks/service_datapath.py [--rounds 5] [--seconds 2] [--skiff PATH]"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "Tests", "e2e"))
import conftest  # noqa: E402
import images  # noqa: E402
import test_node  # noqa: E402

# One client: new connection, GET, read to EOF, close, as fast as it can; prints the count.
# The close is an RST (SO_LINGER 0): thousands of connections a second would otherwise
# fill the port range with TIME_WAIT sockets and conntrack entries within seconds, and
# every later connection would pay for finding a free 4-tuple — on both paths, more the
# longer the run, which measures the benchmark, not the data path.
HAMMER = """
import socket, struct, sys, time
host, port, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
done, end = 0, time.time() + seconds
while time.time() < end:
    with socket.create_connection((host, port), timeout=5) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.sendall(b"GET /index.html HTTP/1.0\\r\\n\\r\\n")
        while s.recv(65536):
            pass
    done += 1
print(done)
"""


def rate(address, seconds, clients, netns_pid=None):
    """Requests/s of `clients` processes, in the network namespace of `netns_pid` if given."""
    prefix = ["nsenter", "-t", str(netns_pid), "-n"] if netns_pid else []
    procs = [subprocess.Popen(prefix + [sys.executable, "-c", HAMMER, address[0], str(address[1]), str(seconds)],
                              stdout=subprocess.PIPE, text=True) for _ in range(clients)]
    return sum(int(p.communicate()[0]) for p in procs) / seconds


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=2)
    parser.add_argument("--clients", type=int, default=2)
    parser.add_argument("--skiff", default=conftest.SKIFF)
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("service_datapath.py needs root (real containers, nftables)")
    conftest.SKIFF = test_node.SKIFF = args.skiff
    subprocess.run(["ip", "route", "replace", "unreachable", test_node.CLUSTER_CIDR], check=True)
    work = tempfile.mkdtemp(prefix="skiff-bench-img-")
    layout = images.build_busybox_image(work, "1")
    archive = os.path.join(work, "busybox.tar")
    images.oci_archive(layout, "1", archive, "docker.io/library/busybox:1")
    up = test_node.Up()
    try:
        subprocess.run([args.skiff, "images", "import", archive, "--data-dir", up.data_dir], check=True, capture_output=True)
        up.start()
        k = up.kubectl()
        pod = {"containers": [{"name": "httpd", "image": "busybox:1", "imagePullPolicy": "Never",
                               "command": ["sh", "-c", "hostname > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"],
                               "readinessProbe": {"tcpSocket": {"port": 8080}, "periodSeconds": 1}}]}
        client = {"containers": [{"name": "client", "image": "busybox:1", "imagePullPolicy": "Never", "command": ["sleep", "86399"]}]}
        k.run("apply", "-f", "-", input=json.dumps({
            "apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "web", "labels": {"app": "web"}}, "spec": pod},
                {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "client"}, "spec": client},
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "web"},
                 "spec": {"selector": {"app": "web"}, "ports": [{"port": 80, "targetPort": 8080}]}}]}))
        pod_ip = test_node.wait_for("the pod ready", lambda: (lambda p: p["status"].get("podIP") if all(
            c.get("ready") for c in p["status"].get("containerStatuses", [{}])) else None)(
            json.loads(k.run("get", "pod", "web", "-o", "json").stdout)), timeout=60)
        cluster_ip = json.loads(k.run("get", "service", "web", "-o", "json").stdout)["spec"]["clusterIP"]
        # The clients run in the client pod's network namespace: the pod-to-Service path.
        client_pid = test_node.wait_for("the client pod running", lambda: subprocess.run(
            ["pgrep", "-f", "sleep 86399"], capture_output=True, text=True).stdout.split()[0], timeout=60)
        test_node.wait_for("the ClusterIP serving", lambda: rate((cluster_ip, 80), 0.2, 1, client_pid) > 0, timeout=30)
        direct, service = [], []
        for _ in range(args.rounds):
            direct.append(rate((pod_ip, 8080), args.seconds, args.clients, client_pid))
            service.append(rate((cluster_ip, 80), args.seconds, args.clients, client_pid))
        metrics = urllib.request.urlopen("http://127.0.0.1:10249/metrics", timeout=5).read().decode()
        programming = {line.split()[0].rsplit("_", 1)[-1]: float(line.split()[-1]) for line in metrics.splitlines()
                       if line.startswith("kubeproxy_network_programming_duration_seconds_") and "bucket" not in line}
    finally:
        up.cleanup()
        subprocess.run(["rm", "-rf", work])
    print(json.dumps({
        "machine": f"{platform.machine()} {os.cpu_count()} cores, {platform.release()}",
        "clients": args.clients, "rounds": args.rounds, "seconds_per_round": args.seconds,
        "pod_ip_requests_per_s_median": round(statistics.median(direct)),
        "cluster_ip_requests_per_s_median": round(statistics.median(service)),
        "ratio_cluster_ip_to_pod_ip": round(statistics.median(service) / statistics.median(direct), 3),
        "rounds_pod_ip": [round(x) for x in direct], "rounds_cluster_ip": [round(x) for x in service],
        "network_programming_ms_mean": round(1000 * programming["sum"] / programming["count"], 1),
        "network_programming_changes": int(programming["count"]),
    }, indent=2))


if __name__ == "__main__":
    main()
