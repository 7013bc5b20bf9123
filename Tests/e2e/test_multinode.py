"""Two real nodes on one machine: `skiff up` on the host and a second `skiff agent` in a
network namespace joined to it by a bridge this test creates (LAB.md §4). Pods on both
run under crun; each node routes the other's pod range (host-gw), so a Service reaches
its endpoints on either node — from the host, and from a pod on the second node through
that node's own proxy and DNS. Root only, as in CI."""

import json
import os
import signal
import subprocess
import tempfile

import pytest

import images
from conftest import SKIFF, free_port
from test_node import CLUSTER_CIDR, Up, apply, require_node_tools, wait_for
from test_services import a_records, answers, client_pod, ready_pods, resolve, service, svc, web

BRIDGE, NETNS, HOST_IP, NODE2_IP = "skiffbr9", "skiff-node2", "172.31.249.1", "172.31.249.12"


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class SecondNode:
    """A network namespace on a bridge with the host, and `skiff agent` running in it (only
    its network namespace differs: cgroups and mounts are the host's, as a node's are)."""

    def __init__(self):
        self.data_dir = tempfile.mkdtemp(prefix="skiff-node2-")
        self.proc = None

    def create_network(self):
        sh("ip", "link", "add", BRIDGE, "type", "bridge")
        sh("ip", "addr", "add", f"{HOST_IP}/24", "dev", BRIDGE)
        sh("ip", "link", "set", BRIDGE, "up")
        sh("ip", "netns", "add", NETNS)
        sh("ip", "link", "add", f"{BRIDGE}h", "type", "veth", "peer", "name", "eth0", "netns", NETNS)
        sh("ip", "link", "set", f"{BRIDGE}h", "master", BRIDGE, "up")
        sh("ip", "-n", NETNS, "addr", "add", f"{NODE2_IP}/24", "dev", "eth0")
        sh("ip", "-n", NETNS, "link", "set", "eth0", "up")
        sh("ip", "-n", NETNS, "link", "set", "lo", "up")
        # No default route: nothing in the namespace can reach past the host.
        sh("ip", "-n", NETNS, "route", "add", "unreachable", CLUSTER_CIDR)

    def start(self, server_port, token, archive):
        sh(SKIFF, "images", "import", archive, "--data-dir", self.data_dir)
        self.log = open(os.path.join(self.data_dir, "agent.log"), "ab")
        self.proc = subprocess.Popen(
            ["nsenter", f"--net=/run/netns/{NETNS}", SKIFF, "agent", "--server", f"https://{HOST_IP}:{server_port}", "--token", token,
             "--node-name", "node2", "--node-ip", NODE2_IP, "--data-dir", self.data_dir, "--kubelet-port", str(free_port())],
            stdout=self.log, stderr=self.log)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        if self.proc:
            self.log.close()
            print("second node's agent log (tail):\n" + open(os.path.join(self.data_dir, "agent.log"), errors="replace").read()[-4000:])
        Up.remove_containers_and_mounts(self.data_dir)
        sh("ip", "netns", "del", NETNS, check=False)
        sh("ip", "link", "del", BRIDGE, check=False)
        sh("rm", "-rf", self.data_dir)


@pytest.fixture(scope="module")
def cluster():
    require_node_tools()
    work = tempfile.mkdtemp(prefix="skiff-images-")
    layout = images.build_busybox_image(work, "1")
    archive = os.path.join(work, "busybox.tar")
    images.oci_archive(layout, "1", archive, "docker.io/library/busybox:1")
    sh("ip", "route", "replace", "unreachable", CLUSTER_CIDR)
    node2 = SecondNode()
    host = Up(node_ip=HOST_IP, bind_address="0.0.0.0")
    try:
        node2.create_network()
        sh(SKIFF, "images", "import", archive, "--data-dir", host.data_dir)
        host.start()
        token = open(os.path.join(host.data_dir, "server", "token")).read().strip()
        node2.start(host.port, token, archive)
        k = host.kubectl()
        wait_for("two Ready nodes", lambda: sum(
            1 for n in json.loads(k.run("get", "nodes", "-o", "json").stdout)["items"]
            for c in n["status"]["conditions"] if c["type"] == "Ready" and c["status"] == "True") == 2, timeout=90)
        yield host, node2
    finally:
        node2.cleanup()
        host.cleanup()
        sh("rm", "-rf", work)


@pytest.fixture(scope="module")
def spread(cluster):
    """Two web pods, one per node (required anti-affinity), behind the Service `web`."""
    host, _ = cluster
    k = host.kubectl()
    deployment = web("busybox:1")
    deployment["spec"]["template"]["spec"]["affinity"] = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}
    apply(k, deployment)
    apply(k, service("web", {"app": "web"}))
    pods = ready_pods(k, "app=web", 2)
    assert len({p["spec"]["nodeName"] for p in pods}) == 2
    return k, pods


def fetch_from_node2(url, n=20):
    """n GETs from the second node's network namespace: outside, as far as the host is concerned."""
    script = f"import urllib.request\nfor _ in range({n}): print(urllib.request.urlopen({url!r}, timeout=3).read().decode().strip())"
    r = sh("nsenter", f"--net=/run/netns/{NETNS}", "python3", "-c", script)
    return r.stdout.split()


def test_service_reaches_pods_on_both_nodes(spread):
    k, pods = spread
    names = {p["metadata"]["name"] for p in pods}
    ip = svc(k, "web")["spec"]["clusterIP"]
    # From the host: one endpoint is local, the other across the bridge.
    wait_for("both nodes' pods behind the ClusterIP", lambda: set(answers(f"http://{ip}/index.html", 20)) == names)

    # From a pod on the second node, through that node's proxy and DNS.
    remote = next(p for p in pods if p["spec"]["nodeName"] == "node2")
    local = next(p for p in pods if p["spec"]["nodeName"] != "node2")
    logs = client_pod(k, "busybox:1", "client", f"""
        nslookup web.default.svc.cluster.local | sed -n 's/^Address: /resolved: /p'
        get {local['status']['podIP']} 8080
        for i in $(seq 30); do get $WEB_SERVICE_HOST; done
    """, node="node2")
    assert f"resolved: {ip}" in logs, logs
    served = [line for line in logs.splitlines() if line in names]
    assert local["metadata"]["name"] in served[:1], logs
    assert set(served) == names, logs
    assert remote["status"]["hostIP"] == NODE2_IP
    assert a_records(resolve("web.default.svc.cluster.local")) == [ip]


def test_external_traffic_policy_local(spread):
    k, pods = spread
    names = {p["metadata"]["name"] for p in pods}
    here = next(p["metadata"]["name"] for p in pods if p["spec"]["nodeName"] != "node2")
    apply(k, service("local", {"app": "web"}, type="NodePort", externalTrafficPolicy="Local"))
    port = svc(k, "local")["spec"]["ports"][0]["nodePort"]
    # From outside (the second node's network) the host answers with its own pod only.
    wait_for("outside traffic kept on the node", lambda: set(fetch_from_node2(f"http://{HOST_IP}:{port}/index.html")) == {here})
    # The host itself is not outside: it reaches every endpoint.
    wait_for("the host reaching both pods", lambda: set(answers(f"http://{HOST_IP}:{port}/index.html", 20)) == names)
