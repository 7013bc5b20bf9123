"""PodDisruptionBudgets, the eviction subresource and `kubectl drain` on simulated nodes."""

import json

import pytest
from kubernetes import client as kclient, config as kconfig

from conftest import KUBECTL_VERSIONS, Kubectl, kubectl_binary, pods, wait_for


def budget(k, name="web"):
    return json.loads(k("get", "pdb", name, "-o", "json"))


def deployment_with_budget(k, min_available, name="web"):
    k("create", "deployment", name, "--image=nginx", "--replicas=3")
    k("rollout", "status", f"deployment/{name}", "--timeout=60s")
    k("create", "poddisruptionbudget", name, f"--selector=app={name}", f"--min-available={min_available}")
    wait_for("the budget's status", lambda: budget(k, name).get("status", {}).get("currentHealthy") == 3)


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_drain_is_refused_by_a_budget_then_allowed(cluster, version):
    k = Kubectl(kubectl_binary(version), cluster.kubeconfig)
    name = ns = f"drain-{version.replace('.', '')}"
    k("create", "namespace", ns)
    k.namespace = ns
    deployment_with_budget(k, 3, name)
    status = budget(k, name)["status"]
    assert (status["desiredHealthy"], status["expectedPods"], status["disruptionsAllowed"]) == (3, 3, 0)
    assert {c["type"]: c["reason"] for c in status["conditions"]}["DisruptionAllowed"] == "InsufficientPods"
    selector = f"app={name}"
    node = pods(k, selector)[0]["spec"]["nodeName"]
    on_node = {p["metadata"]["name"] for p in pods(k, selector) if p["spec"]["nodeName"] == node}
    try:
        r = k.run("drain", node, "--ignore-daemonsets", f"--pod-selector={selector}", "--timeout=3s", check=False)
        assert r.returncode != 0
        assert "Cannot evict pod as it would violate the pod's disruption budget" in r.stderr
        assert on_node <= {p["metadata"]["name"] for p in pods(k, selector)}, "a refused eviction deleted a pod"
        assert json.loads(k("get", "node", node, "-o", "json"))["spec"].get("unschedulable") is True
        # One disruption allowed: the drain goes through, the pod is replaced elsewhere.
        k("patch", "pdb", name, "--type=merge", "-p", '{"spec":{"minAvailable":2}}')
        wait_for("one disruption allowed", lambda: budget(k, name)["status"].get("disruptionsAllowed") == 1)
        k("drain", node, "--ignore-daemonsets", f"--pod-selector={selector}", "--timeout=30s")
        wait_for("three pods again, none on the drained node", lambda: (
            len(pods(k, selector)) == 3 and all(p["spec"].get("nodeName") not in ("", None, node) for p in pods(k, selector))
            and all(p["status"].get("phase") == "Running" for p in pods(k, selector))), timeout=60)
        assert not on_node & {p["metadata"]["name"] for p in pods(k, selector)}
    finally:
        k.namespace = None
        k("uncordon", node)
        k.namespace = ns
        k("delete", "namespace", ns, "--wait=false")


def test_eviction_api_answers_429_with_the_budget_cause(cluster, kc):
    deployment_with_budget(kc, "100%")
    wait_for("percentage resolved", lambda: budget(kc)["status"].get("desiredHealthy") == 3)
    kconfig.load_kube_config(config_file=cluster.kubeconfig)
    core = kclient.CoreV1Api()
    victim = pods(kc)[0]["metadata"]["name"]
    body = kclient.V1Eviction(metadata=kclient.V1ObjectMeta(name=victim, namespace=kc.namespace))
    with pytest.raises(kclient.ApiException) as e:
        core.create_namespaced_pod_eviction(victim, kc.namespace, body)
    assert e.value.status == 429
    status = json.loads(e.value.body)
    assert status["reason"] == "TooManyRequests"
    assert status["message"] == "Cannot evict pod as it would violate the pod's disruption budget."
    assert status["details"]["causes"] == [{"reason": "DisruptionBudget", "message": "The disruption budget web needs 3 healthy pods and has 3 currently"}]
    # maxUnavailable 1: one eviction is granted and counted at once; the next is refused
    # until the controller has seen the replacement become ready.
    kc("patch", "pdb", "web", "--type=json", "-p", '[{"op":"remove","path":"/spec/minAvailable"},{"op":"add","path":"/spec/maxUnavailable","value":1}]')
    wait_for("one disruption allowed", lambda: budget(kc)["status"].get("disruptionsAllowed") == 1)
    core.create_namespaced_pod_eviction(victim, kc.namespace, body)
    wait_for("the evicted pod gone", lambda: victim not in {p["metadata"]["name"] for p in pods(kc)})
    wait_for("the budget healthy again", lambda: budget(kc)["status"].get("currentHealthy") == 3 and budget(kc)["status"]["disruptionsAllowed"] == 1)
    # An eviction of a missing pod is a 404.
    with pytest.raises(kclient.ApiException) as e:
        core.create_namespaced_pod_eviction("missing", kc.namespace, kclient.V1Eviction(metadata=kclient.V1ObjectMeta(name="missing")))
    assert e.value.status == 404


def test_two_budgets_over_one_pod_are_an_error(kc):
    kc("run", "solo", "--image=nginx", "--labels=app=solo")
    wait_for("running", lambda: pods(kc, "app=solo") and pods(kc, "app=solo")[0]["status"].get("phase") == "Running")
    kc("create", "pdb", "a", "--selector=app=solo", "--min-available=0")
    kc("create", "pdb", "b", "--selector=app=solo", "--min-available=0")
    r = kc.run("create", "--raw", f"/api/v1/namespaces/{kc.namespace}/pods/solo/eviction", "-f", "-", check=False,
               input=json.dumps({"apiVersion": "policy/v1", "kind": "Eviction", "metadata": {"name": "solo"}}))
    assert r.returncode != 0 and "more than one PodDisruptionBudget" in r.stderr
