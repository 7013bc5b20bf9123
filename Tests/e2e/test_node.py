"""The worker node end to end: `skiff up` on this machine runs real containers (crun, or
runc), with CNI pod networking, images from a local registry or an imported archive,
driven by the real kubectl. Root only (namespaces, mounts, cgroups, nftables), as in CI."""

import glob
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

import images
from conftest import SKIFF, Kubectl, free_port, kubectl_binary

CLUSTER_CIDR = "10.42.0.0/16"


def require_node_tools():
    if os.geteuid() != 0:
        pytest.skip("SKIPPED LOUDLY: the worker node tests need root (namespaces, mounts, cgroups, nftables)")
    for path in ["/usr/lib/cni/bridge", "/bin/busybox"]:
        if not os.path.exists(path):
            pytest.skip(f"SKIPPED LOUDLY: {path} missing (scripts/setup installs containernetworking-plugins, busybox-static)")
    for tool in ["crun", "runc", "nft", "umoci", "skopeo", "docker-registry"]:
        if shutil.which(tool) is None:
            pytest.skip(f"SKIPPED LOUDLY: {tool} not installed (scripts/setup installs it)")


def wait_for(what, condition, timeout=60, interval=0.2):
    deadline = time.time() + timeout
    last = None
    while time.time() < deadline:
        try:
            last = condition()
            if last:
                return last
        except (AssertionError, KeyError, IndexError, OSError, json.JSONDecodeError, subprocess.SubprocessError) as e:
            last = e
        time.sleep(interval)
    raise AssertionError(f"timed out waiting for {what}: {last!r}")


class Up:
    """`skiff up` on a fresh data directory: a one-node cluster of this machine."""

    def __init__(self, runtime=None, node_ip=None, bind_address="127.0.0.1"):
        self.data_dir = tempfile.mkdtemp(prefix="skiff-up-")
        self.port = free_port()
        self.kubelet_port = free_port()
        self.runtime = runtime
        self.node_ip = node_ip
        self.bind_address = bind_address
        self.proc = None

    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "server", "kubeconfig.yaml")

    def start(self):
        args = [SKIFF, "up", "--data-dir", self.data_dir, "--port", str(self.port), "--bind-address", self.bind_address,
                "--kubelet-port", str(self.kubelet_port), "--cluster-cidr", CLUSTER_CIDR]
        if self.runtime:
            args += ["--runtime", self.runtime]
        if self.node_ip:
            args += ["--node-ip", self.node_ip]
        self.log = open(os.path.join(self.data_dir, "up.log"), "ab")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=self.log)
        k = self.kubectl()
        wait_for("the node Ready", lambda: self.proc.poll() is None and os.path.exists(self.kubeconfig) and json.loads(
            k.run("get", "nodes", "-o", "json", check=False).stdout or "{}").get("items") and all(
            c["status"] == "True" for n in json.loads(k.run("get", "nodes", "-o", "json").stdout)["items"]
            for c in n["status"]["conditions"] if c["type"] == "Ready"), timeout=60)
        return self

    def kubectl(self, version="1.33", namespace=None):
        return Kubectl(kubectl_binary(version), self.kubeconfig, namespace)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=60)
        self.log.close()

    def read_log(self):
        with open(os.path.join(self.data_dir, "up.log"), errors="replace") as f:
            return f.read()[-6000:]

    def skiff(self, *args, check=True):
        r = subprocess.run([SKIFF, *args, "--data-dir", self.data_dir], capture_output=True, text=True, timeout=120)
        if check and r.returncode != 0:
            raise AssertionError(f"skiff {' '.join(args)} failed: {r.stdout}{r.stderr}")
        return r

    @staticmethod
    def remove_containers_and_mounts(data_dir):
        for runtime in ["crun", "runc"]:
            for state in glob.glob(os.path.join(data_dir, "runtime", runtime, "*")):
                subprocess.run([runtime, "--root", os.path.dirname(state), "delete", "-f", os.path.basename(state)], capture_output=True)
        for line in reversed(open("/proc/self/mountinfo").read().splitlines()):
            mountpoint = line.split()[4]
            if mountpoint.startswith(data_dir):
                subprocess.run(["umount", "-l", mountpoint], capture_output=True)
        # The pods' cgroups, now empty (the kubelet removes them only for pods it deletes).
        for hierarchy in glob.glob("/sys/fs/cgroup/*/kubepods") + glob.glob("/sys/fs/cgroup/kubepods"):
            for root, dirs, _ in os.walk(hierarchy, topdown=False):
                for d in dirs:
                    try:
                        os.rmdir(os.path.join(root, d))
                    except OSError:
                        pass

    def cleanup(self):
        """Everything the node made on the host goes, as `rm -rf` of a node would need."""
        self.stop()
        self.remove_containers_and_mounts(self.data_dir)
        subprocess.run(["nft", "delete", "table", "ip", "skiff_node"], capture_output=True)
        subprocess.run([SKIFF, "agent", "--cleanup-proxy", "--cleanup-network"], capture_output=True)
        subprocess.run(["ip", "link", "del", "cni0"], capture_output=True)
        subprocess.run(["ip", "route", "del", "unreachable", CLUSTER_CIDR], capture_output=True)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="module")
def image_workdir():
    require_node_tools()
    d = tempfile.mkdtemp(prefix="skiff-images-")
    layout = images.build_busybox_image(d, "1")
    yield d, layout
    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture(scope="module")
def registry(image_workdir):
    _, layout = image_workdir
    with images.LocalRegistry() as reg:
        reg.push(layout, "1", "busybox:1")
        yield reg


@pytest.fixture(scope="module")
def up(registry):
    # No packet for a pod IP may leave the machine, even before the node routes its range.
    subprocess.run(["ip", "route", "replace", "unreachable", CLUSTER_CIDR], check=True)
    node = Up().start()
    yield node
    node.cleanup()


def fresh(up, version="1.33"):
    name = f"node-{uuid.uuid4().hex[:8]}"
    up.kubectl(version).run("create", "namespace", name)
    return up.kubectl(version, name)


def pod_json(k, name):
    return json.loads(k.run("get", "pod", name, "-o", "json").stdout)


def container_status(k, name, index=0, init=False):
    statuses = pod_json(k, name)["status"].get("initContainerStatuses" if init else "containerStatuses") or []
    return statuses[index] if index < len(statuses) else {}


def apply(k, manifest):
    k.run("apply", "-f", "-", input=json.dumps(manifest))


def pod(name, command, image, **spec):
    containers = spec.pop("containers", None) or [{"name": "c", "image": image, "command": command}]
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
            "spec": {"terminationGracePeriodSeconds": 2, "containers": containers, **spec}}


def image(registry):
    return f"127.0.0.1:{registry.port}/busybox:1"


def web_deployment(image_ref, replicas=2):
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": "web"}},
                 "template": {"metadata": {"labels": {"app": "web"}},
                              "spec": {"terminationGracePeriodSeconds": 2, "containers": [{
                                  "name": "httpd", "image": image_ref,
                                  "command": ["sh", "-c", "hostname > /tmp/index.html; exec httpd -f -v -p 8080 -h /tmp"],
                                  "ports": [{"containerPort": 8080}],
                                  "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1}}]}}}}


def running_web_pods(k, count):
    def ready():
        items = json.loads(k.run("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
        ok = [p for p in items if p["status"].get("phase") == "Running" and p["status"].get("podIP")
              and all(c.get("ready") for c in p["status"].get("containerStatuses", []))]
        return ok if len(ok) == count and len(items) == count else None
    return wait_for(f"{count} web pods Running and Ready", ready, timeout=90)


def http_get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode()


@pytest.mark.parametrize("version", ["1.27", "1.30", "1.33"])
def test_deployment_runs_serves_and_logs(up, registry, version):
    k = fresh(up, version)
    apply(k, web_deployment(image(registry)))
    pods = running_web_pods(k, 2)
    names = {p["metadata"]["name"] for p in pods}
    for p in pods:
        assert p["status"]["podIP"].startswith("10.42."), p["status"]
        assert p["status"]["hostIP"]
        assert p["status"]["containerStatuses"][0]["containerID"].startswith(("crun://", "runc://"))
        assert p["status"]["containerStatuses"][0]["imageID"].startswith(f"127.0.0.1:{registry.port}/busybox@sha256:")
        # From the host.
        assert http_get(f"http://{p['status']['podIP']}:8080/index.html").strip() == p["metadata"]["name"]
    # From another pod, across the bridge.
    target = pods[0]["status"]["podIP"]
    apply(k, pod("client", ["sh", "-c", f"timeout 5 wget -qO- http://{target}:8080/index.html"], image(registry), restartPolicy="Never"))
    wait_for("the client pod to finish", lambda: pod_json(k, "client")["status"].get("phase") == "Succeeded")
    assert k.run("logs", "client").stdout.strip() == pods[0]["metadata"]["name"]
    # The web server's access log, with and without timestamps, and followed.
    name = pods[0]["metadata"]["name"]
    logs = wait_for("an access log line", lambda: k.run("logs", name).stdout)
    assert "response:200" in logs
    stamped = k.run("logs", name, "--timestamps", "--tail", "1").stdout.strip()
    assert stamped[:4].isdigit() and "T" in stamped.split()[0], stamped
    follow = subprocess.Popen([k.binary, "--kubeconfig", k.kubeconfig, "-n", k.namespace, "logs", "-f", name],
                              stdout=subprocess.PIPE, text=True)
    try:
        try:
            http_get(f"http://{pods[0]['status']['podIP']}:8080/followed")
        except urllib.error.HTTPError as e:
            assert e.code == 404
        line = ""
        deadline = time.time() + 20
        while "response:404" not in line and time.time() < deadline:
            line = follow.stdout.readline()
        assert "response:404" in line
    finally:
        follow.kill()
        follow.wait()
    assert names


def test_killed_container_restarts_and_liveness_failure_restarts(up, registry):
    k = fresh(up)
    apply(k, pod("victim", ["sh", "-c", "echo started; exec sleep 3600"], image(registry)))
    wait_for("victim running", lambda: container_status(k, "victim").get("state", {}).get("running"))
    cid = container_status(k, "victim")["containerID"].split("://")[1]
    runtime = container_status(k, "victim")["containerID"].split("://")[0]
    state = json.loads(subprocess.run([runtime, "--root", os.path.join(up.data_dir, "runtime", runtime), "state", cid],
                                      capture_output=True, text=True, check=True).stdout)
    os.kill(state["pid"], signal.SIGKILL)
    wait_for("victim restarted", lambda: container_status(k, "victim").get("restartCount") == 1
             and container_status(k, "victim").get("state", {}).get("running"))
    assert container_status(k, "victim")["lastState"]["terminated"]["exitCode"] == 137
    # The killed instance's output stays readable.
    assert "started" in k.run("logs", "victim", "--previous").stdout

    apply(k, pod("unhealthy", ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"], image(registry), containers=[{
        "name": "c", "image": image(registry), "command": ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; sleep 3600"],
        "livenessProbe": {"exec": {"command": ["cat", "/tmp/healthy"]}, "periodSeconds": 1, "failureThreshold": 1}}]))
    wait_for("unhealthy restarted", lambda: container_status(k, "unhealthy").get("restartCount", 0) >= 1, timeout=60)
    events = k.run("get", "events", "--field-selector", "involvedObject.name=unhealthy", "-o", "json").stdout
    reasons = {e["reason"] for e in json.loads(events)["items"]}
    assert {"Unhealthy", "Killing", "Started"} <= reasons, reasons
    described = k.run("describe", "pod", "unhealthy").stdout
    assert "Liveness probe failed" in described


def test_oom_readiness_init_order_and_bad_inputs(up, registry):
    k = fresh(up)
    img = image(registry)
    apply(k, pod("hog", None, img, restartPolicy="Never", containers=[{
        "name": "c", "image": img, "command": ["tail", "/dev/zero"], "resources": {"limits": {"memory": "16Mi"}}}]))
    apply(k, pod("unready", None, img, containers=[{
        "name": "c", "image": img, "command": ["sleep", "3600"], "readinessProbe": {"exec": {"command": ["false"]}, "periodSeconds": 1}}]))
    apply(k, pod("ordered", None, img, initContainers=[
        {"name": "first", "image": img, "command": ["sh", "-c", "echo first >> /data/order"], "volumeMounts": [{"name": "d", "mountPath": "/data"}]},
        {"name": "second", "image": img, "command": ["sh", "-c", "echo second >> /data/order"], "volumeMounts": [{"name": "d", "mountPath": "/data"}]}],
        containers=[{"name": "main", "image": img, "command": ["sh", "-c", "cat /data/order; sleep 3600"],
                     "volumeMounts": [{"name": "d", "mountPath": "/data"}]}], volumes=[{"name": "d", "emptyDir": {}}]))
    apply(k, pod("badimage", ["true"], f"127.0.0.1:{registry.port}/no-such-image:1"))
    apply(k, pod("badcommand", ["/no/such/command"], img))

    wait_for("hog OOMKilled", lambda: container_status(k, "hog").get("state", {}).get("terminated", {}).get("reason") == "OOMKilled")
    assert container_status(k, "hog")["state"]["terminated"]["exitCode"] == 137
    assert pod_json(k, "hog")["status"]["phase"] == "Failed"

    wait_for("unready running", lambda: container_status(k, "unready").get("state", {}).get("running"))
    time.sleep(2)
    p = pod_json(k, "unready")
    assert p["status"]["phase"] == "Running"
    assert container_status(k, "unready")["ready"] is False
    assert [c["status"] for c in p["status"]["conditions"] if c["type"] == "Ready"] == ["False"]

    wait_for("ordered running", lambda: container_status(k, "ordered").get("state", {}).get("running"))
    assert wait_for("main's log", lambda: k.run("logs", "ordered", "-c", "main").stdout).split() == ["first", "second"]
    assert [s["state"]["terminated"]["reason"] for s in pod_json(k, "ordered")["status"]["initContainerStatuses"]] == ["Completed", "Completed"]

    def pull_backoff():
        waiting = container_status(k, "badimage").get("state", {}).get("waiting", {})
        return waiting if waiting.get("reason") == "ImagePullBackOff" else None
    waiting = wait_for("ImagePullBackOff", pull_backoff, timeout=60)
    assert "manifest unknown" in waiting["message"] or "not found" in waiting["message"].lower(), waiting
    assert "ImagePullBackOff" in k.run("get", "pod", "badimage").stdout

    def start_error():
        last = container_status(k, "badcommand").get("lastState", {}).get("terminated", {})
        return last if last.get("reason") == "StartError" else None
    assert "/no/such/command" in wait_for("the bad command's error", start_error)["message"]


def test_configmap_secret_volumes_and_env(up, registry):
    k = fresh(up)
    k.run("create", "configmap", "settings", "--from-literal=greeting=hello", "--from-literal=color=blue")
    k.run("create", "secret", "generic", "creds", "--from-literal=password=s3cret")
    img = image(registry)
    apply(k, pod("reader", None, img, containers=[{
        "name": "c", "image": img,
        "command": ["sh", "-c", "echo env=$GREETING/$PASSWORD/$MY_POD/$MY_IP; cat /cfg/color; echo; cat /sec/password; echo; sleep 3600"],
        "env": [{"name": "GREETING", "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "greeting"}}},
                {"name": "PASSWORD", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password"}}},
                {"name": "MY_POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                {"name": "MY_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}}],
        "volumeMounts": [{"name": "cfg", "mountPath": "/cfg"}, {"name": "sec", "mountPath": "/sec"}]}],
        volumes=[{"name": "cfg", "configMap": {"name": "settings"}}, {"name": "sec", "secret": {"secretName": "creds"}}]))
    logs = wait_for("reader's output", lambda: (lambda out: out if "s3cret" in out else None)(k.run("logs", "reader").stdout))
    ip = pod_json(k, "reader")["status"]["podIP"]
    assert f"env=hello/s3cret/reader/{ip}" in logs
    assert logs.split()[1:3] == ["blue", "s3cret"]
    # The ConfigMap changes: the file in the volume follows (atomically, as upstream's).
    uid = pod_json(k, "reader")["metadata"]["uid"]
    color = os.path.join(up.data_dir, "pods", uid, "volumes", "kubernetes.io~configmap", "cfg", "color")
    assert open(color).read() == "blue"
    k.run("patch", "configmap", "settings", "-p", '{"data":{"color":"green"}}')
    wait_for("the volume to follow the ConfigMap", lambda: open(color).read() == "green", timeout=60)
    # A missing ConfigMap: the pod waits with the reason and message upstream gives.
    apply(k, pod("missing", ["true"], img, volumes=[{"name": "x", "configMap": {"name": "nope"}}], containers=[{
        "name": "c", "image": img, "command": ["true"], "volumeMounts": [{"name": "x", "mountPath": "/x"}]}]))
    wait_for("FailedMount", lambda: "FailedMount" in k.run("get", "events", "--field-selector", "involvedObject.name=missing").stdout)
    assert 'configmap "nope" not found' in k.run("describe", "pod", "missing").stdout


def host_traces(up, uid, ip):
    """What a pod may leave on the host: processes, mounts, namespaces, veths, cgroups, IPs."""
    traces = []
    for line in open("/proc/self/mountinfo").read().splitlines():
        if uid in line:
            traces.append(f"mount {line.split()[4]}")
    for d in glob.glob(f"/sys/fs/cgroup/*/kubepods/*/pod{uid}") + glob.glob(f"/sys/fs/cgroup/*/kubepods/pod{uid}"):
        traces.append(f"cgroup {d}")
    if ip and os.path.exists(os.path.join(up.data_dir, "cni", "networks", "skiff", ip)):
        traces.append(f"ip allocation {ip}")
    for runtime in ["crun", "runc"]:
        root = os.path.join(up.data_dir, "runtime", runtime)
        if os.path.isdir(root):
            listing = subprocess.run([runtime, "--root", root, "list", "-q"], capture_output=True, text=True).stdout.split()
            for cid in listing:
                config = os.path.join(up.data_dir, "runtime", "containers", cid, "config.json")
                if os.path.exists(config) and uid in open(config).read():
                    traces.append(f"container {cid}")
    for sandbox in glob.glob(os.path.join(up.data_dir, "runtime", "state", "sandbox-*.json")):
        if uid in open(sandbox).read():
            traces.append(f"sandbox {sandbox}")
    return traces


def test_deleted_pod_leaves_nothing_and_agent_restart_keeps_containers(up, registry):
    k = fresh(up)
    img = image(registry)
    veths_before = len(glob.glob("/sys/class/net/veth*"))
    apply(k, pod("doomed", ["sleep", "3600"], img, containers=[{
        "name": "c", "image": img, "command": ["sleep", "3600"], "resources": {"limits": {"memory": "32Mi"}},
        "volumeMounts": [{"name": "m", "mountPath": "/m"}]}], volumes=[{"name": "m", "emptyDir": {"medium": "Memory"}}]))
    apply(k, pod("survivor", ["sleep", "3600"], img))
    for name in ["doomed", "survivor"]:
        wait_for(f"{name} running", lambda n=name: container_status(k, n).get("state", {}).get("running"))
    doomed = pod_json(k, "doomed")
    uid, ip = doomed["metadata"]["uid"], doomed["status"]["podIP"]
    assert host_traces(up, uid, ip), "the running pod should be visible on the host"
    started = time.time()
    k.run("delete", "pod", "doomed", "--wait=true", timeout=60)
    assert time.time() - started < 2 + 10, "deleted within its grace period (2 s) plus the kubelet's reaction"
    leftovers = host_traces(up, uid, ip)
    assert leftovers == [], "\n".join(leftovers) + up.read_log()
    wait_for("the veth removed", lambda: len(glob.glob("/sys/class/net/veth*")) == veths_before + 1)

    # The agent restarts: the running container is adopted, not restarted.
    before = container_status(k, "survivor")
    up.stop()
    up.start()
    after = wait_for("survivor seen again", lambda: container_status(k, "survivor"))
    assert after["containerID"] == before["containerID"]
    assert after["restartCount"] == before["restartCount"]
    assert after["state"]["running"]["startedAt"] == before["state"]["running"]["startedAt"]
    assert pod_json(k, "survivor")["status"]["phase"] == "Running"


def test_imported_archive_runs_with_pull_policy_never(up, image_workdir):
    workdir, layout = image_workdir
    archive = os.path.join(workdir, "imported.tar")
    if not os.path.exists(archive):
        images.docker_archive(layout, "1", archive, "skiff.test/imported:1")
    up.skiff("images", "import", archive)
    assert "skiff.test/imported" in up.skiff("images", "ls").stdout
    k = fresh(up)
    apply(k, pod("offline", ["sh", "-c", "echo air-gapped; sleep 3600"], "skiff.test/imported:1",
                 containers=[{"name": "c", "image": "skiff.test/imported:1", "imagePullPolicy": "Never",
                              "command": ["sh", "-c", "echo air-gapped; sleep 3600"]}]))
    wait_for("offline logs", lambda: "air-gapped" in k.run("logs", "offline").stdout)


def test_host_network_and_host_port(up, registry):
    k = fresh(up)
    img = image(registry)
    host_port, net_port = images.free_port(), images.free_port()
    apply(k, pod("hostnet", None, img, hostNetwork=True, containers=[{
        "name": "c", "image": img, "command": ["sh", "-c", f"hostname > /tmp/i; exec httpd -f -p {net_port} -h /tmp"]}]))
    apply(k, pod("hostport", None, img, containers=[{
        "name": "c", "image": img, "command": ["sh", "-c", "hostname > /tmp/i; exec httpd -f -p 8080 -h /tmp"],
        "ports": [{"containerPort": 8080, "hostPort": host_port}]}]))
    for name in ["hostnet", "hostport"]:
        wait_for(f"{name} running", lambda n=name: container_status(k, n).get("state", {}).get("running"))
    node = json.loads(k.run("get", "nodes", "-o", "json").stdout)["items"][0]
    node_ip = [a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP"][0]
    assert pod_json(k, "hostnet")["status"]["podIP"] == node_ip
    # The host's network and UTS namespaces: the node's name answers on the node's port.
    assert wait_for("the host-network server", lambda: http_get(f"http://127.0.0.1:{net_port}/i")).strip() == node["metadata"]["name"]
    # hostPort: the node's address and port reach the pod (CNI portmap).
    assert wait_for("the hostPort", lambda: http_get(f"http://{node_ip}:{host_port}/i")).strip() == "hostport"
    k.run("delete", "pod", "hostnet", "hostport", "--wait=true", timeout=60)


def test_same_deployment_under_runc(registry, up):
    """Last in the module: it replaces the crun node with a runc one on the same machine."""
    up.cleanup()
    subprocess.run(["ip", "route", "replace", "unreachable", CLUSTER_CIDR], check=True)
    node = Up(runtime="runc").start()
    try:
        k = node.kubectl()
        nodes = json.loads(k.run("get", "nodes", "-o", "json").stdout)["items"]
        assert nodes[0]["status"]["nodeInfo"]["containerRuntimeVersion"].startswith("runc://")
        k = fresh(node)
        apply(k, web_deployment(image(registry), replicas=1))
        p = running_web_pods(k, 1)[0]
        assert p["status"]["containerStatuses"][0]["containerID"].startswith("runc://")
        assert http_get(f"http://{p['status']['podIP']}:8080/index.html").strip() == p["metadata"]["name"]
    finally:
        node.cleanup()
