"""Resource metrics and autoscaling end to end on a real `skiff up`: the kubelet's cgroup
figures reach `kubectl top` through the API server's metrics.k8s.io, and the
HorizontalPodAutoscaler scales a CPU-burning Deployment up and, once the load stops and
its stabilization window has passed, down again. Root only, as in CI."""

import json

from conftest import Kubectl, kubectl_binary
from test_node import apply, fresh, image, image_workdir, registry, up, wait_for  # noqa: F401

# Burns a core until /tmp/stop exists, then idles.
BURN = "while [ ! -f /tmp/stop ]; do :; done; exec sleep 100000"


def deployment(name, ref, command, cpu="100m"):
    labels = {"app": name}
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": 1, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": {
                         "terminationGracePeriodSeconds": 1,
                         "containers": [{"name": "c", "image": ref, "command": ["sh", "-c", command],
                                         "resources": {"requests": {"cpu": cpu}}}]}}}}


def millicores(text):
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def top_pods(k):
    rows = [line.split() for line in k.run("top", "pods", "--no-headers").stdout.splitlines()]
    return {row[0]: (millicores(row[1]), row[2]) for row in rows}


def test_top_shows_usage_that_moves_with_load(up, registry):
    k = fresh(up)
    ref = image(registry)
    apply(k, deployment("burn", ref, BURN))
    apply(k, deployment("idle", ref, "exec sleep 100000"))
    k.run("wait", "--for=condition=Available", "deployment/burn", "deployment/idle", "--timeout=90s")

    def usage():
        pods = top_pods(k)
        burn = [cpu for name, (cpu, _) in pods.items() if name.startswith("burn-")]
        idle = [cpu for name, (cpu, _) in pods.items() if name.startswith("idle-")]
        return (burn, idle) if burn and idle and burn[0] > 500 else None
    burn, idle = wait_for("kubectl top pods to show the burning pod", usage, timeout=90)
    assert idle[0] < 50, (burn, idle)
    for version in ("1.27", "1.33"):
        kv = Kubectl(kubectl_binary(version), k.kubeconfig, k.namespace)
        # NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%: the burning core shows on the node
        # (a node's figure needs two scrapes).
        nodes = wait_for("kubectl top nodes", lambda: kv.run("top", "nodes", "--no-headers").stdout.split(), timeout=60)
        assert millicores(nodes[1]) > 500 and nodes[2].endswith("%") and nodes[3].endswith("Mi"), nodes
        assert "burn-" in kv.run("top", "pods", "-l", "app=burn").stdout
    # The load stops: the figure falls.
    name = next(n for n in top_pods(k) if n.startswith("burn-"))
    k.run("exec", name, "--", "touch", "/tmp/stop")
    wait_for("the stopped pod's CPU to fall", lambda: top_pods(k)[name][0] < 50, timeout=90)
    r = k.run("top", "pod", "nope", check=False)
    assert r.returncode != 0 and 'pods "nope" not found' in r.stderr, r


def test_hpa_scales_up_under_load_and_down_after_the_window(up, registry):
    k = fresh(up)
    apply(k, deployment("load", image(registry), BURN, cpu="200m"))
    k.run("wait", "--for=condition=Available", "deployment/load", "--timeout=90s")
    k.run("autoscale", "deployment", "load", "--cpu-percent=50", "--min=1", "--max=3")
    # A short scale-down window, so the test need not wait upstream's five minutes.
    k.run("patch", "hpa", "load", "--type=merge", "-p", json.dumps(
        {"spec": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 15}}}}))

    def hpa():
        return json.loads(k.run("get", "hpa", "load", "-o", "json").stdout)
    wait_for("the HPA to scale the load up to 3", lambda: hpa()["status"].get("desiredReplicas") == 3, timeout=150)
    wait_for("3 replicas", lambda: json.loads(k.run("get", "deployment", "load", "-o", "json").stdout)["spec"]["replicas"] == 3)
    for version in ("1.27", "1.33"):
        table = Kubectl(kubectl_binary(version), k.kubeconfig, k.namespace).run("get", "hpa", "load").stdout
        assert "Deployment/load" in table and "/50%" in table and "<unknown>/50%" not in table, table
    events = k.run("get", "events", "--field-selector", "reason=SuccessfulRescale", "-o", "json").stdout
    assert "above target" in events
    # The load stops everywhere; after the window the HPA scales back to its minimum.
    k.run("wait", "--for=condition=Available", "deployment/load", "--timeout=90s")
    for pod in json.loads(k.run("get", "pods", "-l", "app=load", "-o", "json").stdout)["items"]:
        k.run("exec", pod["metadata"]["name"], "--", "touch", "/tmp/stop")
    wait_for("the HPA to scale the load down to 1", lambda: hpa()["status"].get("desiredReplicas") == 1, timeout=180)
    wait_for("1 replica", lambda: json.loads(k.run("get", "deployment", "load", "-o", "json").stdout)["spec"]["replicas"] == 1)
    conditions = {c["type"]: c["status"] for c in hpa()["status"]["conditions"]}
    assert conditions["ScalingActive"] == "True", conditions
