"""The scheduler's placement rules on simulated nodes (sim-0..2, 2 CPU each), driven by
the real kubectl: pod anti-affinity, topology spread and preemption."""

import json
import uuid

import pytest

from conftest import KUBECTL_VERSIONS, Kubectl, kubectl_binary, pods, wait_for


def apply(k, obj):
    k("apply", "-f", "-", input=json.dumps(obj))


def deployment(name, replicas, spec_extra):
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"containers": [{"name": "c", "image": "nginx"}], **spec_extra}}},
    }


def condition(pod, kind):
    return next((c for c in pod["status"].get("conditions", []) if c["type"] == kind), None)


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_required_anti_affinity_puts_one_pod_per_node_and_the_fourth_waits(cluster, version):
    k = Kubectl(kubectl_binary(version), cluster.kubeconfig)
    k.namespace = f"e2e-{uuid.uuid4().hex[:8]}"
    k("create", "namespace", k.namespace)
    apply(k, deployment("web", 4, {"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}))
    wait_for("three pods placed and one pending", lambda: len([p for p in pods(k) if p["spec"].get("nodeName")]) == 3
             and any((condition(p, "PodScheduled") or {}).get("reason") == "Unschedulable" for p in pods(k)))
    placed = [p["spec"]["nodeName"] for p in pods(k) if p["spec"].get("nodeName")]
    assert sorted(placed) == ["sim-0", "sim-1", "sim-2"]
    pending = next(p for p in pods(k) if not p["spec"].get("nodeName"))
    message = condition(pending, "PodScheduled")["message"]
    assert message.startswith("0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules.")
    assert "preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod." in message
    described = k("describe", "pod", pending["metadata"]["name"])
    assert "FailedScheduling" in described and "didn't match pod anti-affinity rules" in described

    # Scaled down to three, nothing waits; a new pod with affinity to web lands next to one.
    k("scale", "deployment/web", "--replicas=3")
    wait_for("three running web pods", lambda: len(pods(k)) == 3 and all(p["spec"].get("nodeName") for p in pods(k)))
    apply(k, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "buddy", "labels": {"app": "buddy"}},
              "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeSelector": {"kubernetes.io/hostname": "sim-1"},
                       "affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                           {"labelSelector": {"matchLabels": {"app": "web"}}, "topologyKey": "kubernetes.io/hostname"}]}}}})
    wait_for("buddy placed", lambda: pods(k, "app=buddy") and pods(k, "app=buddy")[0]["spec"].get("nodeName") == "sim-1")


def test_topology_spread_with_max_skew_one_spreads_evenly(kc):
    apply(kc, deployment("spread", 6, {"topologySpreadConstraints": [
        {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
         "labelSelector": {"matchLabels": {"app": "spread"}}}]}))
    wait_for("six pods placed", lambda: len(pods(kc, "app=spread")) == 6 and all(p["spec"].get("nodeName") for p in pods(kc, "app=spread")))
    per_node = {}
    for p in pods(kc, "app=spread"):
        per_node[p["spec"]["nodeName"]] = per_node.get(p["spec"]["nodeName"], 0) + 1
    assert per_node == {"sim-0": 2, "sim-1": 2, "sim-2": 2}

    # A pod whose nodeSelector allows only sim-0 would make sim-0 three ahead of the
    # nodes it cannot use; with nodeAffinityPolicy Honor those do not count, so it fits.
    apply(kc, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pinned", "labels": {"app": "spread"}},
               "spec": {"containers": [{"name": "c", "image": "nginx"}], "nodeSelector": {"kubernetes.io/hostname": "sim-0"},
                        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                                                       "labelSelector": {"matchLabels": {"app": "spread"}}}]}})
    wait_for("pinned placed", lambda: json.loads(kc("get", "pod", "pinned", "-o", "json"))["spec"].get("nodeName") == "sim-0")

    # With the default policy for taints ignored, a constraint on a label no node has waits.
    apply(kc, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "rack", "labels": {"app": "spread"}},
               "spec": {"containers": [{"name": "c", "image": "nginx"}],
                        "topologySpreadConstraints": [{"maxSkew": 1, "topologyKey": "example.com/rack", "whenUnsatisfiable": "DoNotSchedule",
                                                       "labelSelector": {"matchLabels": {"app": "spread"}}}]}})
    wait_for("rack reported", lambda: (condition(json.loads(kc("get", "pod", "rack", "-o", "json")), "PodScheduled") or {}).get("reason") == "Unschedulable")
    message = condition(json.loads(kc("get", "pod", "rack", "-o", "json")), "PodScheduled")["message"]
    assert message.startswith("0/3 nodes are available: 3 node(s) didn't match pod topology spread constraints (missing required label).")


def test_a_high_priority_pod_preempts_a_low_priority_one(kc):
    name = f"e2e-high-{uuid.uuid4().hex[:6]}"
    kc.namespace, ns = None, kc.namespace
    kc("create", "priorityclass", name, "--value=1000", "--description=e2e")
    kc("create", "priorityclass", f"{name}-polite", "--value=1000", "--preemption-policy=Never")
    kc.namespace = ns
    try:
        for i in range(3):
            apply(kc, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": f"low-{i}", "labels": {"app": "low"}},
                       "spec": {"containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "1500m"}}}]}})
        wait_for("low pods running", lambda: len(pods(kc, "app=low")) == 3 and all(p["status"].get("phase") == "Running" for p in pods(kc, "app=low")))
        apply(kc, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "high", "labels": {"app": "high"}},
                   "spec": {"priorityClassName": name,
                            "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "1500m"}}}]}})
        wait_for("high running", lambda: json.loads(kc("get", "pod", "high", "-o", "json"))["status"].get("phase") == "Running", timeout=60)
        high = json.loads(kc("get", "pod", "high", "-o", "json"))
        assert high["spec"]["priority"] == 1000, "Priority admission resolves the class"
        assert high["status"].get("nominatedNodeName") in (None, high["spec"]["nodeName"])
        wait_for("one low pod gone", lambda: len(pods(kc, "app=low")) == 2)
        assert high["spec"]["nodeName"] not in {p["spec"]["nodeName"] for p in pods(kc, "app=low")}
        events = json.loads(kc("get", "events", "-o", "json"))["items"]
        preempted = [e for e in events if e["reason"] == "Preempted"]
        assert len(preempted) == 1 and preempted[0]["involvedObject"]["name"].startswith("low-")
        assert preempted[0]["message"] == f"Preempted by pod {high['metadata']['uid']} on node {high['spec']['nodeName']}"

        # preemptionPolicy Never: it waits instead, and says so.
        apply(kc, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "polite", "labels": {"app": "polite"}},
                   "spec": {"priorityClassName": f"{name}-polite",
                            "containers": [{"name": "c", "image": "nginx", "resources": {"requests": {"cpu": "1500m"}}}]}})
        wait_for("polite reported", lambda: (condition(json.loads(kc("get", "pod", "polite", "-o", "json")), "PodScheduled") or {}).get("reason") == "Unschedulable")
        message = condition(json.loads(kc("get", "pod", "polite", "-o", "json")), "PodScheduled")["message"]
        assert message == "0/3 nodes are available: 3 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
        assert len(pods(kc, "app=low")) == 2
    finally:
        kc.namespace = None
        kc("delete", "priorityclass", name, f"{name}-polite")
        kc.namespace = ns
