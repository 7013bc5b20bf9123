"""The real kubectl (1.27, 1.30, 1.33) against the real `skiff server`."""

import json
import subprocess
import time

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app1
  labels: {tier: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: app1}
  template:
    metadata:
      labels: {app: app1}
    spec:
      containers:
      - name: main
        image: nginx:1.27
        ports:
        - containerPort: 80
"""


def test_version_and_api_resources(kubectl):
    out = json.loads(kubectl("version", "-o", "json"))
    assert out["serverVersion"]["major"] == "1"
    resources = kubectl("api-resources", "-o", "name")
    for name in ["pods", "deployments.apps", "customresourcedefinitions.apiextensions.k8s.io", "leases.coordination.k8s.io"]:
        assert name in resources.split()
    wide = kubectl("api-resources")
    assert "deploy" in wide and "apps/v1" in wide


def test_create_generators_and_get_outputs(kubectl):
    assert "deployment.apps/web created" in kubectl("create", "deployment", "web", "--image=nginx:1.27", "--replicas=2")
    assert "configmap/cfg created" in kubectl("create", "configmap", "cfg", "--from-literal=a=1")
    assert "secret/s created" in kubectl("create", "secret", "generic", "s", "--from-literal=password=x")
    assert "service/web created" in kubectl("create", "service", "clusterip", "web", "--tcp=80:8080")
    assert "serviceaccount/robot created" in kubectl("create", "serviceaccount", "robot")
    assert "job.batch/once created" in kubectl("create", "job", "once", "--image=busybox")

    table = kubectl("get", "deployments")
    assert table.splitlines()[0].split() == ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]
    assert "web" in table and "0/2" in table
    wide = kubectl("get", "deployment", "web", "-o", "wide")
    assert "CONTAINERS" in wide and "nginx:1.27" in wide and "app=web" in wide
    obj = json.loads(kubectl("get", "deployment", "web", "-o", "json"))
    assert obj["spec"]["replicas"] == 2
    assert obj["spec"]["strategy"]["rollingUpdate"]["maxSurge"] == "25%"
    assert "replicas: 2" in kubectl("get", "deployment", "web", "-o", "yaml")
    assert kubectl("get", "deployment", "web", "-o", "jsonpath={.spec.template.spec.containers[0].image}") == "nginx:1.27"
    svc = kubectl("get", "svc", "web")
    assert "ClusterIP" in svc and "80/TCP" in svc
    secret = json.loads(kubectl("get", "secret", "s", "-o", "json"))
    assert secret["data"]["password"] == "eA=="
    assert kubectl("get", "cm", "cfg", "-o", "jsonpath={.data.a}") == "1"


def test_get_all_namespaces_labels_and_selectors(kubectl):
    kubectl("create", "configmap", "one", "--from-literal=a=1")
    kubectl("label", "configmap", "one", "team=blue")
    kubectl("create", "configmap", "two", "--from-literal=a=2")
    everywhere = kubectl("get", "configmaps", "-A")
    assert kubectl.namespace in everywhere and "one" in everywhere
    assert kubectl("get", "cm", "-l", "team=blue", "-o", "name").split() == ["configmap/one"]
    assert "configmap/one" not in kubectl("get", "cm", "-l", "team!=blue", "-o", "name").split()
    assert "team=blue" in kubectl("get", "cm", "one", "--show-labels")
    assert kubectl("get", "cm", "--field-selector", "metadata.name=two", "-o", "name").split() == ["configmap/two"]


def test_apply_client_side_then_configure(kubectl):
    assert "deployment.apps/app1 created" in kubectl("apply", "-f", "-", input=DEPLOYMENT)
    changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3").replace("nginx:1.27", "nginx:1.28")
    assert "deployment.apps/app1 configured" in kubectl("apply", "-f", "-", input=changed)
    obj = json.loads(kubectl("get", "deployment", "app1", "-o", "json"))
    assert obj["spec"]["replicas"] == 3
    assert obj["spec"]["template"]["spec"]["containers"][0]["image"] == "nginx:1.28"
    assert obj["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in obj["metadata"]["annotations"]
    assert "unchanged" in kubectl("apply", "-f", "-", input=changed)


def test_apply_server_side(kubectl):
    manifest = DEPLOYMENT.replace("app1", "app2")
    out = kubectl("apply", "--server-side", "-f", "-", input=manifest)
    assert "serverside-applied" in out
    obj = json.loads(kubectl("get", "deployment", "app2", "-o", "json", "--show-managed-fields"))
    assert obj["spec"]["replicas"] == 2
    managers = {(m["manager"], m["operation"]) for m in obj["metadata"]["managedFields"]}
    assert ("kubectl", "Apply") in managers
    # Another manager takes .spec.replicas; re-applying the old value conflicts until forced.
    kubectl("patch", "deployment", "app2", "--type=merge", "-p", '{"spec":{"replicas":5}}')
    r = kubectl.run("apply", "--server-side", "-f", "-", input=manifest, check=False)
    assert r.returncode != 0
    assert "conflict" in r.stderr and ".spec.replicas" in r.stderr
    kubectl("apply", "--server-side", "--force-conflicts", "-f", "-", input=manifest)
    assert kubectl("get", "deployment", "app2", "-o", "jsonpath={.spec.replicas}") == "2"
    # Fields dropped from the applied configuration are removed.
    smaller = manifest.replace("  labels: {tier: web}\n", "")
    kubectl("apply", "--server-side", "-f", "-", input=smaller)
    labels = json.loads(kubectl("get", "deployment", "app2", "-o", "json"))["metadata"].get("labels", {})
    assert "tier" not in labels


def test_label_annotate_scale_patch(kubectl):
    kubectl("create", "deployment", "web", "--image=nginx:1.27")
    kubectl("label", "deployment", "web", "tier=front")
    kubectl("annotate", "deployment", "web", "note=hello")
    assert "scaled" in kubectl("scale", "deployment", "web", "--replicas=4")
    kubectl("patch", "deployment", "web", "-p", '{"spec":{"template":{"spec":{"containers":[{"name":"nginx","image":"nginx:1.29"}]}}}}')
    kubectl("patch", "deployment", "web", "--type=merge", "-p", '{"metadata":{"labels":{"merged":"yes"}}}')
    kubectl("patch", "deployment", "web", "--type=json", "-p", '[{"op":"replace","path":"/spec/replicas","value":5}]')
    obj = json.loads(kubectl("get", "deployment", "web", "-o", "json"))
    assert obj["metadata"]["labels"] == {"app": "web", "tier": "front", "merged": "yes"}
    assert obj["metadata"]["annotations"]["note"] == "hello"
    assert obj["spec"]["replicas"] == 5
    assert [c["image"] for c in obj["spec"]["template"]["spec"]["containers"]] == ["nginx:1.29"]
    kubectl("label", "deployment", "web", "tier-")
    assert "tier" not in json.loads(kubectl("get", "deployment", "web", "-o", "json"))["metadata"]["labels"]
    kubectl("rollout", "restart", "deployment", "web")
    restarted = json.loads(kubectl("get", "deployment", "web", "-o", "json"))
    assert "kubectl.kubernetes.io/restartedAt" in restarted["spec"]["template"]["metadata"]["annotations"]


def test_replace_with_stale_object_conflicts(kubectl):
    kubectl("create", "configmap", "c", "--from-literal=a=1")
    stale = kubectl("get", "configmap", "c", "-o", "json")
    kubectl("patch", "configmap", "c", "--type=merge", "-p", '{"data":{"a":"2"}}')
    r = kubectl.run("replace", "-f", "-", input=stale, check=False)
    assert r.returncode != 0
    assert "Conflict" in r.stderr and "the object has been modified" in r.stderr


def test_describe_explain_delete_and_wait(kubectl):
    kubectl("create", "deployment", "web", "--image=nginx:1.27")
    described = kubectl("describe", "deployment", "web")
    assert "Name:" in described and "web" in described and "nginx:1.27" in described
    explained = kubectl("explain", "deployment.spec.replicas")
    assert "replicas" in explained.lower()
    assert "deleted" in kubectl("delete", "deployment", "web")
    kubectl("wait", "--for=delete", "deployment/web", "--timeout=10s", check=False)
    r = kubectl.run("get", "deployment", "web", check=False)
    assert r.returncode != 0 and "NotFound" in r.stderr


def test_watch_prints_changes(kubectl):
    kubectl("create", "configmap", "w", "--from-literal=a=1")
    cmd = [kubectl.binary, "--kubeconfig", kubectl.kubeconfig, "--cache-dir", kubectl.cache, "-n", kubectl.namespace,
           "get", "configmaps", "-w", "--request-timeout=8s"]
    watcher = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        kubectl("create", "configmap", "w2", "--from-literal=a=1")
        time.sleep(1.0)
    finally:
        watcher.terminate()
        out, _ = watcher.communicate(timeout=10)
    lines = [l.split()[0] for l in out.splitlines() if l.strip()]
    assert lines[0] == "NAME"
    assert "w" in lines and "w2" in lines


def test_errors_are_reported_like_kubernetes(kubectl):
    r = kubectl.run("get", "pod", "does-not-exist", check=False)
    assert r.returncode == 1
    assert 'Error from server (NotFound): pods "does-not-exist" not found' in r.stderr
    r = kubectl.run("create", "configmap", "Bad_Name", check=False)
    assert r.returncode == 1 and "Invalid" in r.stderr


CRD = """
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.%(group)s
spec:
  group: %(group)s
  scope: Namespaced
  names: {plural: gadgets, singular: gadget, kind: Gadget, shortNames: [gd]}
  versions:
  - name: v1
    served: true
    storage: true
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer}
"""


def test_custom_resources(kubectl):
    group = f"{kubectl.namespace}.example.com"
    kubectl("apply", "-f", "-", input=CRD % {"group": group})
    kubectl("wait", "--for=condition=established", f"crd/gadgets.{group}", "--timeout=10s")
    gadget = f"apiVersion: {group}/v1\nkind: Gadget\nmetadata:\n  name: g1\nspec:\n  size: 7\n"
    assert "created" in kubectl("apply", "-f", "-", input=gadget)
    out = kubectl("get", f"gadgets.{group}")
    assert out.splitlines()[0].split() == ["NAME", "SIZE"]
    assert out.splitlines()[1].split() == ["g1", "7"]
    kubectl("patch", f"gadgets.{group}", "g1", "--type=merge", "-p", '{"spec":{"size":8}}')
    assert kubectl("get", f"gadgets.{group}", "g1", "-o", "jsonpath={.spec.size}") == "8"
    kubectl("delete", "crd", f"gadgets.{group}")
    r = kubectl.run("get", f"gadgets.{group}", check=False)
    assert r.returncode != 0


def test_metrics_endpoint(kubectl):
    kubectl("get", "pods")
    metrics = kubectl("get", "--raw", "/metrics")
    assert "apiserver_request_total{" in metrics
    assert 'verb="list"' in metrics
    assert "apiserver_request_duration_seconds_bucket" in metrics
    assert "skiff_store_revision" in metrics


def test_create_token_authenticates(kubectl, server):
    kubectl("create", "serviceaccount", "bot")
    token = kubectl("create", "token", "bot").strip()
    assert token.count(".") == 2
    base = [kubectl.binary, "--kubeconfig", "/dev/null", "--cache-dir", kubectl.cache, "--server", server.url,
            "--certificate-authority", f"{server.data_dir}/tls/ca.crt"]
    ok = subprocess.run(base + ["--token", token, "get", "namespaces"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run(base + ["--token", token[:-4] + "AAAA", "get", "namespaces"], capture_output=True, text=True)
    assert bad.returncode != 0 and "Unauthorized" in bad.stderr
