"""The control plane acting on objects: scheduler, controllers and simulated nodes
(`skiff agent --simulate`), driven by the real kubectl."""

import ipaddress
import json
import os
import subprocess
import time

import pytest

from conftest import KUBECTL_VERSIONS, SKIFF, Agent, Kubectl, Server, default_kubectl, in_fresh_namespace, kubectl_binary, pods, wait_for


def test_agent_refuses_a_server_whose_ca_does_not_match_its_token(cluster):
    token = open(os.path.join(cluster.data_dir, "token")).read().strip()
    forged = "K10" + "0" * 64 + token[token.index("::"):]
    r = subprocess.run([SKIFF, "agent", "--server", cluster.url, "--token", forged, "--simulate", "1", "--node-name-prefix", "evil"],
                       capture_output=True, text=True, timeout=30)
    assert r.returncode != 0
    assert "does not match the token" in r.stderr
    assert "evil-0" not in Kubectl(default_kubectl(), cluster.kubeconfig)("get", "nodes")


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_rollout_history_undo_restart_pause(cluster, version):
    k = in_fresh_namespace(cluster, kubectl_binary(version))
    k("create", "deployment", "web", "--image=nginx:1", "--replicas=3")
    k("rollout", "status", "deployment/web", "--timeout=60s")
    assert len(pods(k)) == 3 and all(p["status"]["phase"] == "Running" and p["spec"]["nodeName"].startswith("sim-") for p in pods(k))
    k("set", "image", "deployment/web", "nginx=nginx:2")
    k("rollout", "status", "deployment/web", "--timeout=60s")
    assert {p["spec"]["containers"][0]["image"] for p in pods(k)} == {"nginx:2"}
    history = k("rollout", "history", "deployment/web")
    assert "1 " in history and "2 " in history
    k("rollout", "undo", "deployment/web")
    k("rollout", "status", "deployment/web", "--timeout=60s")
    wait_for("pods back on nginx:1", lambda: {p["spec"]["containers"][0]["image"] for p in pods(k)} == {"nginx:1"} and len(pods(k)) == 3)
    before = {p["metadata"]["name"] for p in pods(k)}
    k("rollout", "restart", "deployment/web")
    k("rollout", "status", "deployment/web", "--timeout=60s")
    wait_for("every pod replaced", lambda: len(pods(k)) == 3 and not before & {p["metadata"]["name"] for p in pods(k)})
    k("rollout", "pause", "deployment/web")
    k("set", "image", "deployment/web", "nginx=nginx:3")
    time.sleep(1)
    assert {p["spec"]["containers"][0]["image"] for p in pods(k)} == {"nginx:1"}
    k("rollout", "resume", "deployment/web")
    k("rollout", "status", "deployment/web", "--timeout=60s")
    wait_for("nginx:3 rolled out", lambda: {p["spec"]["containers"][0]["image"] for p in pods(k)} == {"nginx:3"})
    k("scale", "deployment/web", "--replicas=5")
    k("rollout", "status", "deployment/web", "--timeout=60s")
    assert len(pods(k)) == 5


def test_a_pod_that_fits_nowhere_says_why(kc):
    kc("create", "deployment", "big", "--image=nginx", "--replicas=1")
    kc("set", "resources", "deployment/big", "--requests=cpu=3")
    wait_for("an unschedulable pod", lambda: any(
        c.get("reason") == "Unschedulable" for p in pods(kc, "app=big") for c in p["status"].get("conditions", [])))
    pod = next(p for p in pods(kc, "app=big") if p["status"].get("conditions"))
    described = kc("describe", "pod", pod["metadata"]["name"])
    assert "0/3 nodes are available: 3 Insufficient cpu." in described
    assert "FailedScheduling" in described


def test_taints_tolerations_and_cordon(kc):
    kc.namespace, ns = None, kc.namespace
    kc("taint", "nodes", "--all", "dedicated=web:NoSchedule")
    kc("cordon", "sim-1")
    kc.namespace = ns
    try:
        kc("run", "plain", "--image=nginx")
        # Each node is reported for the first filter it fails, as upstream.
        wait_for("untolerated taint reported", lambda: "0/3 nodes are available: 2 node(s) had untolerated taint {dedicated: web}, "
                 "1 node(s) were unschedulable." in kc("describe", "pod", "plain"))
        overrides = json.dumps({"spec": {"tolerations": [{"key": "dedicated", "operator": "Equal", "value": "web", "effect": "NoSchedule"}]}})
        for i in range(4):
            kc("run", f"tolerant-{i}", "--image=nginx", f"--overrides={overrides}")
        wait_for("tolerant pods running", lambda: all(
            p["status"].get("phase") == "Running" for p in [json.loads(kc("get", "pod", f"tolerant-{i}", "-o", "json")) for i in range(4)]))
        nodes = {json.loads(kc("get", "pod", f"tolerant-{i}", "-o", "json"))["spec"]["nodeName"] for i in range(4)}
        assert "sim-1" not in nodes  # cordoned
    finally:
        kc.namespace = None
        kc("taint", "nodes", "--all", "dedicated=web:NoSchedule-")
        kc("uncordon", "sim-1")
        kc.namespace = ns
    wait_for("the untolerating pod scheduled once the taint is gone", lambda: json.loads(kc("get", "pod", "plain", "-o", "json"))["status"].get("phase") == "Running")


@pytest.mark.parametrize("cascade", ["background", "foreground", "orphan"])
def test_deleting_a_deployment_with_each_propagation_policy(kc, cascade):
    kc("create", "deployment", "web", "--image=nginx", "--replicas=2")
    kc("rollout", "status", "deployment/web", "--timeout=60s")
    kc("delete", "deployment", "web", f"--cascade={cascade}", "--wait=true", "--timeout=60s")
    if cascade == "orphan":
        time.sleep(1)
        assert len(pods(kc)) == 2
        rs = json.loads(kc("get", "rs", "-o", "json"))["items"]
        assert len(rs) == 1 and not rs[0]["metadata"].get("ownerReferences")
    else:
        wait_for("replica sets and pods collected", lambda: not pods(kc) and not json.loads(kc("get", "rs", "-o", "json"))["items"])


def test_deleting_a_namespace_removes_everything_in_it(kc):
    ns = kc.namespace
    kc("create", "deployment", "web", "--image=nginx", "--replicas=2")
    kc("create", "configmap", "settings", "--from-literal=a=b")
    kc("rollout", "status", "deployment/web", "--timeout=60s")
    kc.namespace = None
    kc("delete", "namespace", ns, "--timeout=60s")
    r = kc.run("get", "namespace", ns, check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr
    assert json.loads(kc("get", "pods", "-A", "-o", "json"))["items"] == [] or all(
        p["metadata"]["namespace"] != ns for p in json.loads(kc("get", "pods", "-A", "-o", "json"))["items"])


def test_a_dead_agents_pods_are_replaced_on_other_nodes():
    """kill -9 an agent: its nodes go Unknown after the grace period, their pods are
    evicted after their tolerationSeconds, and the Deployment's replacements run on the
    surviving agent's nodes."""
    server = Server(extra=["--node-monitor-grace-period", "3", "--default-toleration-seconds", "2"]).start()
    doomed = Agent(server, 2, ["--node-name-prefix", "doomed", "--node-lease-duration-seconds", "2"])
    survivor = Agent(server, 2, ["--node-name-prefix", "survivor", "--node-lease-duration-seconds", "2"])
    try:
        k = Kubectl(default_kubectl(), server.kubeconfig, "default")
        wait_for("4 nodes", lambda: len(json.loads(k("get", "nodes", "-o", "json"))["items"]) == 4)
        k("create", "deployment", "web", "--image=nginx", "--replicas=6")
        k("rollout", "status", "deployment/web", "--timeout=60s")
        assert any(p["spec"]["nodeName"].startswith("doomed") for p in pods(k))
        doomed.proc.kill()
        wait_for("every running pod on a surviving node", lambda: (
            len([p for p in pods(k) if p["status"].get("phase") == "Running"]) == 6
            and all(p["spec"].get("nodeName", "").startswith("survivor") for p in pods(k))), timeout=60)
        node = json.loads(k("get", "node", "doomed-0", "-o", "json"))
        ready = next(c for c in node["status"]["conditions"] if c["type"] == "Ready")
        assert ready["status"] == "Unknown"
        assert {"key": "node.kubernetes.io/unreachable", "effect": "NoSchedule"} in [
            {"key": t["key"], "effect": t["effect"]} for t in node["spec"]["taints"]]
    finally:
        doomed.stop()
        survivor.stop()
        server.cleanup()


def test_services_get_endpoints_of_their_ready_pods(kc):
    kc("create", "deployment", "web", "--image=nginx", "--replicas=3", "--port=8080")
    kc("rollout", "status", "deployment/web", "--timeout=60s")
    kc("expose", "deployment", "web", "--port=80", "--target-port=8080")
    ips = sorted(p["status"]["podIP"] for p in pods(kc))
    wait_for("endpoints", lambda: sorted(
        a["ip"] for s in json.loads(kc("get", "endpoints", "web", "-o", "json")).get("subsets", []) for a in s.get("addresses", [])) == ips)
    slices = json.loads(kc("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"))["items"]
    assert sorted(e["addresses"][0] for s in slices for e in s["endpoints"]) == ips
    assert all(s["ports"] == [{"name": "", "port": 8080, "protocol": "TCP"}] for s in slices)
    kc("scale", "deployment/web", "--replicas=1")
    wait_for("endpoints shrink", lambda: len(json.loads(kc("get", "endpointslices", "-l", "kubernetes.io/service-name=web", "-o", "json"))["items"][0]["endpoints"]) == 1)
    assert "8080" in kc("describe", "service", "web")


def test_a_daemonset_runs_one_pod_on_every_eligible_node_and_rolls_out(kc):
    manifest = """
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: c, image: busybox:1}]}
"""
    kc("apply", "-f", "-", input=manifest)
    kc("rollout", "status", "daemonset/agent", "--timeout=60s")
    wait_for("one pod per node", lambda: sorted(p["spec"].get("nodeName", "") for p in pods(kc, "app=agent")) == ["sim-0", "sim-1", "sim-2"])
    kc("set", "image", "daemonset/agent", "c=busybox:2")
    kc("rollout", "status", "daemonset/agent", "--timeout=60s")
    wait_for("all updated", lambda: [p["spec"]["containers"][0]["image"] for p in pods(kc, "app=agent")] == ["busybox:2"] * 3)
    # Each template is a ControllerRevision: history lists both, undo goes back.
    history = kc("rollout", "history", "daemonset/agent")
    assert "\n1 " in history and "\n2 " in history
    revisions = json.loads(kc("get", "controllerrevisions", "-o", "json"))["items"]
    assert sorted(r["revision"] for r in revisions) == [1, 2]
    hashes = {r["metadata"]["labels"]["controller-revision-hash"] for r in revisions if r["revision"] == 2}
    assert {p["metadata"]["labels"]["controller-revision-hash"] for p in pods(kc, "app=agent")} == hashes
    kc("rollout", "undo", "daemonset/agent")
    kc("rollout", "status", "daemonset/agent", "--timeout=60s")
    wait_for("back on busybox:1", lambda: [p["spec"]["containers"][0]["image"] for p in pods(kc, "app=agent")] == ["busybox:1"] * 3)
    assert sorted(r["revision"] for r in json.loads(kc("get", "controllerrevisions", "-o", "json"))["items"]) == [2, 3]
    # A node selector no node matches but one: the daemon leaves the others.
    kc.namespace, ns = None, kc.namespace
    kc("label", "node", "sim-1", "role=edge")
    kc.namespace = ns
    try:
        kc("patch", "daemonset", "agent", "-p", '{"spec":{"template":{"spec":{"nodeSelector":{"role":"edge"}}}}}')
        wait_for("only on the labelled node", lambda: [p["spec"].get("nodeName") for p in pods(kc, "app=agent")] == ["sim-1"])
    finally:
        kc.namespace = None
        kc("label", "node", "sim-1", "role-")
        kc.namespace = ns


def test_nodes_get_pod_ranges_and_pods_addresses_from_them(kc):
    nodes = {n["metadata"]["name"]: n for n in json.loads(kc("get", "nodes", "-o", "json"))["items"]}
    ranges = {name: ipaddress.ip_network(n["spec"]["podCIDR"]) for name, n in nodes.items()}
    assert all(r.prefixlen == 24 and r.subnet_of(ipaddress.ip_network("10.42.0.0/16")) for r in ranges.values())
    assert len(set(ranges.values())) == len(ranges), "two nodes share a pod range"
    kc("create", "deployment", "web", "--image=nginx", "--replicas=4")
    kc("rollout", "status", "deployment/web", "--timeout=60s")
    for p in pods(kc):
        assert ipaddress.ip_address(p["status"]["podIP"]) in ranges[p["spec"]["nodeName"]]
    assert len({p["status"]["podIP"] for p in pods(kc)}) == 4
    wait_for("the namespace's default service account", lambda: kc.run("get", "serviceaccount", "default", check=False).returncode == 0)


def test_controllers_and_the_scheduler_report_events(kc):
    kc("create", "deployment", "web", "--image=nginx", "--replicas=2")
    kc("rollout", "status", "deployment/web", "--timeout=60s")
    wait_for("the deployment's scaling event", lambda: "Scaled up replica set web-" in kc("describe", "deployment", "web"))
    events = json.loads(kc("get", "events", "-o", "json"))["items"]
    reasons = {(e["involvedObject"]["kind"], e["reason"]) for e in events}
    assert {("Deployment", "ScalingReplicaSet"), ("ReplicaSet", "SuccessfulCreate"), ("Pod", "Scheduled")} <= reasons
    created = [e for e in events if e["reason"] == "SuccessfulCreate"]
    assert all(e["source"]["component"] == "replicaset-controller" and e["message"].startswith("Created pod: web-") for e in created)
