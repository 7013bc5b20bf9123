"""StatefulSets (ordered pods with stable names and claims, ControllerRevisions, rollout
status/history/undo/restart) and ReplicationControllers on simulated nodes, driven by the
real kubectl."""

import json

import pytest

from conftest import KUBECTL_VERSIONS, in_fresh_namespace, kubectl_binary, pods, wait_for

MANIFEST = """
apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 80, name: web}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: web}
spec:
  serviceName: nginx
  replicas: 3
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 0
      containers: [{name: nginx, image: "nginx:1", volumeMounts: [{name: www, mountPath: /usr/share/nginx/html}]}]
  volumeClaimTemplates:
  - metadata: {name: www}
    spec:
      accessModes: [ReadWriteOnce]
      resources: {requests: {storage: 1Gi}}
"""


def images(k):
    return {p["metadata"]["name"]: p["spec"]["containers"][0]["image"] for p in pods(k)}


def uids(k):
    return {p["metadata"]["name"]: p["metadata"]["uid"] for p in pods(k)}


def claims(k):
    return sorted(c["metadata"]["name"] for c in json.loads(k("get", "pvc", "-o", "json"))["items"])


def test_statefulset_creates_pods_in_order_with_claims_and_scales(kc):
    kc("apply", "-f", "-", input=MANIFEST)
    kc("rollout", "status", "sts/web", "--timeout=60s")
    ps = sorted(pods(kc), key=lambda p: p["metadata"]["name"])
    assert [p["metadata"]["name"] for p in ps] == ["web-0", "web-1", "web-2"]
    for i, p in enumerate(ps):
        assert p["status"]["phase"] == "Running" and p["spec"]["nodeName"].startswith("sim-")
        assert p["spec"]["hostname"] == f"web-{i}" and p["spec"]["subdomain"] == "nginx"
        assert p["metadata"]["labels"]["statefulset.kubernetes.io/pod-name"] == f"web-{i}"
        assert p["metadata"]["labels"]["apps.kubernetes.io/pod-index"] == str(i)
        assert {"name": "www", "persistentVolumeClaim": {"claimName": f"www-web-{i}"}} in p["spec"]["volumes"]
    # OrderedReady: each pod was created only once the one before it was Ready.
    for before, after in zip(ps, ps[1:]):
        ready = next(c for c in before["status"]["conditions"] if c["type"] == "Ready")
        assert after["metadata"]["creationTimestamp"] >= ready["lastTransitionTime"]
    assert claims(kc) == ["www-web-0", "www-web-1", "www-web-2"]
    assert "Pending" in kc("get", "pvc", "www-web-0")
    # The headless Service selects the set's pods.
    wait_for("the headless Service's endpoints", lambda: sorted(
        e["targetRef"]["name"] for sl in json.loads(kc("get", "endpointslices", "-l", "kubernetes.io/service-name=nginx", "-o", "json"))["items"]
        for e in sl.get("endpoints") or []) == ["web-0", "web-1", "web-2"])
    table = kc("get", "sts", "web")
    assert "READY" in table and "3/3" in table
    sts = json.loads(kc("get", "sts", "web", "-o", "json"))
    assert sts["spec"]["podManagementPolicy"] == "OrderedReady"
    assert sts["spec"]["updateStrategy"] == {"type": "RollingUpdate", "rollingUpdate": {"partition": 0}}
    assert sts["spec"]["revisionHistoryLimit"] == 10
    assert sts["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenDeleted": "Retain", "whenScaled": "Retain"}
    status = sts["status"]
    assert status["replicas"] == 3 and status["readyReplicas"] == 3 and status["availableReplicas"] == 3
    assert status["currentReplicas"] == 3 and status["updatedReplicas"] == 3 and status["collisionCount"] == 0
    assert status["currentRevision"] == status["updateRevision"] and status["updateRevision"].startswith("web-")
    rows = [line.split() for line in kc("get", "controllerrevisions").splitlines()]
    assert rows[0][:3] == ["NAME", "CONTROLLER", "REVISION"]
    assert rows[1][:3] == [status["updateRevision"], "statefulset.apps/web", "1"]

    described = kc("describe", "sts", "web")
    for i in range(3):
        assert f"create Claim www-web-{i} Pod web-{i} in StatefulSet web success" in described
        assert f"create Pod web-{i} in StatefulSet web successful" in described

    kc("scale", "sts/web", "--replicas=5")
    kc("rollout", "status", "sts/web", "--timeout=60s")
    assert sorted(images(kc)) == [f"web-{i}" for i in range(5)]
    kc("scale", "sts/web", "--replicas=2")
    wait_for("scaled down to web-0 and web-1", lambda: sorted(images(kc)) == ["web-0", "web-1"])
    # Claims outlive their pods unless the retention policy says otherwise.
    assert claims(kc) == [f"www-web-{i}" for i in range(5)]
    assert "delete Pod web-4 in StatefulSet web successful" in kc("describe", "sts", "web")
    # A deleted pod comes back under the same name.
    before = uids(kc)["web-1"]
    kc("delete", "pod", "web-1", "--wait=false")
    wait_for("web-1 recreated", lambda: uids(kc).get("web-1") not in (None, before))


@pytest.mark.parametrize("version", KUBECTL_VERSIONS)
def test_statefulset_partitioned_rollout_history_undo_restart(cluster, version):
    k = in_fresh_namespace(cluster, kubectl_binary(version))
    k("apply", "-f", "-", input=MANIFEST)
    k("rollout", "status", "sts/web", "--timeout=60s")
    k("patch", "sts", "web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":2}}}}')
    k("set", "image", "sts/web", "nginx=nginx:2")
    out = k("rollout", "status", "sts/web", "--timeout=60s")
    assert "partitioned roll out complete: 1 new pods have been updated" in out
    assert images(k) == {"web-0": "nginx:1", "web-1": "nginx:1", "web-2": "nginx:2"}
    k("patch", "sts", "web", "-p", '{"spec":{"updateStrategy":{"rollingUpdate":{"partition":0}}}}')
    k("rollout", "status", "sts/web", "--timeout=60s")
    wait_for("every pod on nginx:2", lambda: images(k) == {f"web-{i}": "nginx:2" for i in range(3)})

    history = k("rollout", "history", "sts/web")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["1", "2"]
    assert "nginx:1" in k("rollout", "history", "sts/web", "--revision=1")
    assert "nginx:2" in k("rollout", "history", "sts/web", "--revision=2")

    assert "rolled back" in k("rollout", "undo", "sts/web")
    k("rollout", "status", "sts/web", "--timeout=60s")
    wait_for("back on nginx:1", lambda: images(k) == {f"web-{i}": "nginx:1" for i in range(3)})
    history = k("rollout", "history", "sts/web")
    assert [line.split()[0] for line in history.splitlines()[2:] if line.strip()] == ["2", "3"]
    # kubectl compares the revision's bytes with the set's template to skip a no-op undo.
    assert "skipped rollback (current template already matches revision 3)" in k("rollout", "undo", "sts/web", "--to-revision=3")
    k("rollout", "undo", "sts/web", "--to-revision=2")
    k("rollout", "status", "sts/web", "--timeout=60s")
    wait_for("nginx:2 again", lambda: images(k) == {f"web-{i}": "nginx:2" for i in range(3)})

    before = uids(k)
    k("rollout", "restart", "sts/web")
    k("rollout", "status", "sts/web", "--timeout=60s")
    wait_for("every pod replaced", lambda: len(uids(k)) == 3 and not set(before.values()) & set(uids(k).values()))
    sts = json.loads(k("get", "sts", "web", "-o", "json"))
    assert "kubectl.kubernetes.io/restartedAt" in sts["spec"]["template"]["metadata"]["annotations"]
    assert sts["status"]["currentRevision"] == sts["status"]["updateRevision"]


def test_statefulset_deleted_with_its_claims_when_the_policy_says_so(kc):
    manifest = MANIFEST.replace("  serviceName: nginx\n", "  serviceName: nginx\n  podManagementPolicy: Parallel\n"
                                "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete, whenScaled: Delete}\n")
    kc("apply", "-f", "-", input=manifest)
    kc("rollout", "status", "sts/web", "--timeout=60s")
    assert claims(kc) == ["www-web-0", "www-web-1", "www-web-2"]
    kc("scale", "sts/web", "--replicas=1")
    wait_for("scaled-down pods' claims deleted", lambda: claims(kc) == ["www-web-0"] and sorted(images(kc)) == ["web-0"])
    assert json.loads(kc("get", "controllerrevisions", "-o", "json"))["items"]
    kc("delete", "sts", "web")
    wait_for("pods, claims and revisions gone with the set",
             lambda: claims(kc) == [] and pods(kc) == [] and json.loads(kc("get", "controllerrevisions", "-o", "json"))["items"] == [])


def test_replication_controller_scaled_with_kubectl(kc):
    manifest = """
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec:
  replicas: 2
  selector: {app: rc}
  template:
    metadata: {labels: {app: rc}}
    spec: {containers: [{name: c, image: "busybox:1"}]}
"""
    kc("apply", "-f", "-", input=manifest)
    wait_for("2 running pods", lambda: [p["status"].get("phase") for p in pods(kc, "app=rc")] == ["Running"] * 2)
    owner = pods(kc, "app=rc")[0]["metadata"]["ownerReferences"][0]
    assert owner["kind"] == "ReplicationController" and owner["name"] == "rc" and owner["controller"] is True
    kc("scale", "rc/rc", "--replicas=4")
    wait_for("4 pods", lambda: len(pods(kc, "app=rc")) == 4)
    wait_for("rc status", lambda: json.loads(kc("get", "rc", "rc", "-o", "json"))["status"].get("readyReplicas") == 4)
    table = kc("get", "rc")
    assert table.split("\n")[0].split()[:4] == ["NAME", "DESIRED", "CURRENT", "READY"]
    assert table.split("\n")[1].split()[:4] == ["rc", "4", "4", "4"]
    kc("scale", "rc/rc", "--replicas=1")
    wait_for("1 pod", lambda: len(pods(kc, "app=rc")) == 1)
    described = kc("describe", "rc", "rc")
    assert "Replicas:     1 current / 1 desired" in described
    assert "SuccessfulCreate" in described and "Created pod: rc-" in described and "Deleted pod: rc-" in described
