"""Re-captures the Protobuf fixtures from real kubectl binaries, on loopback only.

A logging stand-in API server answers discovery, canned GETs and every write with 201, and
records each request body. For every command below, kubectl 1.32 and 1.33 send the body as
Protobuf (the two must be byte-identical) and kubectl 1.31 sends it as JSON; they are saved
as <name>.pb and <name>.json beside this script.

    python3 Tests/SkiffAPITests/Fixtures/Protobuf/capture.py [name...]

kubectl.1.31, kubectl.1.32 and kubectl.1.33 must sit beside `readlink -f $(which kubectl)`.
autoscale-v2.json is not captured (no kubectl sends autoscaling/v2 as JSON): see README.md.
"""

import http.server
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import threading

HERE = pathlib.Path(__file__).resolve().parent
KUBECTL_DIR = pathlib.Path(shutil.which("kubectl") or "kubectl").resolve().parent

# name -> (kubectl arguments, HTTP method of the recorded request)
COMMANDS = {
    "namespace": (["create", "namespace", "team-a"], "POST"),
    "deployment": (["create", "deployment", "web", "--image=nginx:1.27", "--replicas=3", "--port=80"], "POST"),
    "deployment-multi": (["create", "deployment", "multi", "--image=nginx:1.27", "--image=busybox:1.36"], "POST"),
    "deployment-zero": (["create", "deployment", "idle", "--image=nginx:1.27", "--replicas=0"], "POST"),
    "configmap": (["create", "configmap", "settings", "--from-literal=mode=fast", "--from-literal=level=3"], "POST"),
    "configmap-binary": (["create", "configmap", "blob", "--from-file=blob.bin={blob}", "--from-literal=x=y"], "POST"),
    "secret-generic": (["create", "secret", "generic", "creds", "--from-literal=user=admin", "--from-literal=password=s3cr3t"], "POST"),
    "secret-docker": (["create", "secret", "docker-registry", "regcred", "--docker-server=registry.example.com",
                       "--docker-username=bob", "--docker-password=pw", "--docker-email=bob@example.com"], "POST"),
    "service-clusterip": (["create", "service", "clusterip", "web", "--tcp=80:8080", "--tcp=443:8443"], "POST"),
    "service-clusterip-none": (["create", "service", "clusterip", "headless", "--clusterip=None"], "POST"),
    "service-nodeport": (["create", "service", "nodeport", "np", "--tcp=80:8080", "--node-port=30080"], "POST"),
    "service-loadbalancer": (["create", "service", "loadbalancer", "lb", "--tcp=80:8080"], "POST"),
    "service-externalname": (["create", "service", "externalname", "ext", "--external-name=db.example.com"], "POST"),
    "serviceaccount": (["create", "serviceaccount", "builder"], "POST"),
    "job": (["create", "job", "hello", "--image=busybox:1.36", "--", "echo", "hi"], "POST"),
    "job-from-cronjob": (["create", "job", "manual-1", "--from=cronjob/nightly"], "POST"),
    "cronjob": (["create", "cronjob", "nightly", "--image=busybox:1.36", "--schedule=*/5 * * * *",
                 "--restart=OnFailure", "--", "date"], "POST"),
    "role": (["create", "role", "reader", "--verb=get,list,watch", "--resource=pods,deployments.apps",
              "--resource-name=a", "--resource-name=b"], "POST"),
    "rolebinding": (["create", "rolebinding", "read-it", "--role=reader", "--user=alice", "--group=devs",
                     "--serviceaccount=default:builder"], "POST"),
    "clusterrole": (["create", "clusterrole", "cluster-reader", "--verb=get", "--resource=pods",
                     "--non-resource-url=/healthz"], "POST"),
    "clusterrole-aggregate": (["create", "clusterrole", "agg", "--aggregation-rule=rbac.example.com/aggregate=true"], "POST"),
    "clusterrolebinding": (["create", "clusterrolebinding", "admins", "--clusterrole=cluster-admin", "--user=root",
                            "--group=system:masters"], "POST"),
    "quota": (["create", "quota", "q1", "--hard=cpu=1,memory=1G,pods=2,services.nodeports=0", "--scopes=BestEffort"], "POST"),
    "priorityclass": (["create", "priorityclass", "high", "--value=1000", "--global-default=true",
                       "--description=important", "--preemption-policy=Never"], "POST"),
    "priorityclass-zero": (["create", "priorityclass", "low", "--value=0"], "POST"),
    "pdb-min": (["create", "poddisruptionbudget", "pdb1", "--selector=app=web", "--min-available=1"], "POST"),
    "pdb-max": (["create", "poddisruptionbudget", "pdb2", "--selector=app=web", "--max-unavailable=50%"], "POST"),
    "pdb-zero": (["create", "poddisruptionbudget", "pdb3", "--selector=app=web", "--max-unavailable=0"], "POST"),
    "ingress": (["create", "ingress", "site", "--class=nginx", "--rule=foo.com/bar=svc1:8080,tls=my-cert",
                 "--rule=bar.com/*=svc2:http", "--annotation=a.b/c=d"], "POST"),
    "ingress-default": (["create", "ingress", "simple", "--default-backend=defsvc:80"], "POST"),
    "token": (["create", "token", "builder", "--duration=1h", "--audience=api"], "POST"),
    "token-bound": (["create", "token", "builder", "--bound-object-kind=Pod", "--bound-object-name=web-0",
                     "--bound-object-uid=0c0a4c0e-1111-2222-3333-444455556666"], "POST"),
    # 1.32 sends autoscaling/v1, 1.33 autoscaling/v2 (saved as autoscale-v2.pb).
    "autoscale": (["autoscale", "deployment", "web", "--min=2", "--max=5", "--cpu-percent=70"], "POST"),
    # Without pods/eviction in discovery, drain deletes pods with a Protobuf DeleteOptions body.
    "drain-delete": (["drain", "node1", "--grace-period=5", "--timeout=20s"], "DELETE"),
}


def res(name, kind, namespaced=True, **extra):
    return dict(name=name, singularName="", namespaced=namespaced, kind=kind,
                verbs=["create", "delete", "get", "list", "patch", "update", "watch"], **extra)


GROUPS = {
    "apps/v1": [res("deployments", "Deployment"), res("deployments/scale", "Scale", group="autoscaling", version="v1")],
    "autoscaling/v1": [res("horizontalpodautoscalers", "HorizontalPodAutoscaler")],
    "autoscaling/v2": [res("horizontalpodautoscalers", "HorizontalPodAutoscaler")],
    "batch/v1": [res("jobs", "Job"), res("cronjobs", "CronJob")],
    "rbac.authorization.k8s.io/v1": [res("roles", "Role"), res("rolebindings", "RoleBinding"),
                                     res("clusterroles", "ClusterRole", False), res("clusterrolebindings", "ClusterRoleBinding", False)],
    "networking.k8s.io/v1": [res("ingresses", "Ingress")],
    "policy/v1": [res("poddisruptionbudgets", "PodDisruptionBudget")],
    "scheduling.k8s.io/v1": [res("priorityclasses", "PriorityClass", False)],
}
CORE = [res("pods", "Pod"), res("services", "Service"), res("configmaps", "ConfigMap"), res("secrets", "Secret"),
        res("namespaces", "Namespace", False), res("serviceaccounts", "ServiceAccount"),
        res("resourcequotas", "ResourceQuota"), res("nodes", "Node", False)]

META = {"creationTimestamp": "2025-01-02T03:04:05Z", "resourceVersion": "5"}
POD = {"kind": "Pod", "apiVersion": "v1", "metadata": dict(META, name="p1", namespace="default", uid="p-1", ownerReferences=[
    {"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "web-abc", "uid": "rs-1", "controller": True, "blockOwnerDeletion": True}]),
    "spec": {"nodeName": "node1", "containers": [{"name": "c", "image": "nginx"}]}, "status": {"phase": "Running"}}
# A CronJob with a rich pod template: `create job --from` copies it into the Job.
CRONJOB = {"kind": "CronJob", "apiVersion": "batch/v1", "metadata": dict(META, name="nightly", namespace="default",
           uid="7e1f6a3c-0000-4000-8000-000000000001"), "spec": {"schedule": "*/5 * * * *", "jobTemplate": {
    "metadata": {"creationTimestamp": None}, "spec": {"backoffLimit": 2, "template": {
        "metadata": {"creationTimestamp": None, "labels": {"app": "nightly"}}, "spec": {
            "containers": [{"name": "nightly", "image": "busybox:1.36", "command": ["date"],
                            "resources": {"limits": {"cpu": "250m", "memory": "64Mi"}},
                            "env": [{"name": "MODE", "value": "full"},
                                    {"name": "POD", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                    {"name": "PASS", "valueFrom": {"secretKeyRef": {"name": "creds", "key": "password", "optional": True}}}],
                            "livenessProbe": {"exec": {"command": ["true"]}, "initialDelaySeconds": 3, "periodSeconds": 10},
                            "readinessProbe": {"httpGet": {"path": "/ready", "port": 8080}, "timeoutSeconds": 2},
                            "volumeMounts": [{"name": "cfg", "mountPath": "/etc/cfg", "readOnly": True}],
                            "securityContext": {"runAsNonRoot": True, "runAsUser": 1000, "allowPrivilegeEscalation": False,
                                                "capabilities": {"drop": ["ALL"]}}}],
            "volumes": [{"name": "cfg", "configMap": {"name": "settings", "defaultMode": 420}},
                        {"name": "scratch", "emptyDir": {"sizeLimit": "1Gi"}},
                        {"name": "proj", "projected": {"sources": [
                            {"secret": {"name": "creds", "items": [{"key": "password", "path": "pw"}]}},
                            {"serviceAccountToken": {"path": "token", "expirationSeconds": 3600}}]}}],
            "restartPolicy": "OnFailure", "terminationGracePeriodSeconds": 0,
            "tolerations": [{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}],
            "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
                {"matchExpressions": [{"key": "zone", "operator": "In", "values": ["a", "b"]}]}]}}}}}}}}, "status": {}}
NOT_FOUND = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "reason": "NotFound", "code": 404}
CANNED = {
    "/apis/batch/v1/namespaces/default/cronjobs/nightly": (200, CRONJOB),
    "/apis/apps/v1/namespaces/default/deployments/web": (200, {"kind": "Deployment", "apiVersion": "apps/v1",
        "metadata": dict(META, name="web", namespace="default", uid="d-1"), "spec": {"replicas": 3,
        "selector": {"matchLabels": {"app": "web"}}, "template": {"metadata": {"labels": {"app": "web"}},
        "spec": {"containers": [{"name": "nginx", "image": "nginx:1.27"}]}}}, "status": {}}),
    "/api/v1/nodes/node1": (200, {"kind": "Node", "apiVersion": "v1", "metadata": dict(META, name="node1", uid="n-1"), "spec": {}, "status": {}}),
    "/api/v1/pods": (200, {"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "11"}, "items": [POD]}),
    "/api/v1/namespaces/default/pods/p1": (404, NOT_FOUND),
}


class Recorder(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    requests = []  # (method, path, content type, body)

    def log_message(self, *args):
        pass

    def reply(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        Recorder.requests.append((self.command, self.path, self.headers.get("Content-Type", ""), body))
        path = self.path.split("?")[0]
        if path in CANNED and self.command in ("GET", "PATCH"):
            return self.reply(*CANNED[path])
        if self.command == "GET":
            if path == "/api":
                return self.reply(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []})
            if path == "/apis":
                return self.reply(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                    {"name": gv.split("/")[0], "versions": [{"groupVersion": gv, "version": gv.split("/")[1]}],
                     "preferredVersion": {"groupVersion": gv, "version": gv.split("/")[1]}} for gv in GROUPS]})
            if path == "/api/v1":
                return self.reply(200, {"kind": "APIResourceList", "groupVersion": "v1", "resources": CORE})
            if path.startswith("/apis/") and path[6:] in GROUPS:
                return self.reply(200, {"kind": "APIResourceList", "groupVersion": path[6:], "resources": GROUPS[path[6:]]})
            return self.reply(404, NOT_FOUND)
        obj = json.loads(body) if body[:1] == b"{" else {}
        obj.setdefault("metadata", {}).setdefault("name", "x")
        self.reply(201 if self.command == "POST" else 200, obj)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


def capture(version, args, method, server, workdir):
    Recorder.requests.clear()
    kubectl = KUBECTL_DIR / f"kubectl.{version}"
    cmd = [str(kubectl), f"--server=http://127.0.0.1:{server.server_port}", f"--cache-dir={workdir}/{version}",
           "-n", "default", *args]
    subprocess.run(cmd, capture_output=True, timeout=60)
    bodies = [(ctype, body) for (m, _, ctype, body) in Recorder.requests if m == method and body]
    if len(bodies) != 1:
        raise SystemExit(f"kubectl.{version} {' '.join(args)}: expected one {method} with a body, got {len(bodies)}")
    return bodies[0]


def main():
    names = sys.argv[1:] or list(COMMANDS)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory() as workdir:
        blob = pathlib.Path(workdir, "blob.bin")
        blob.write_bytes(bytes(range(256)) + b"\x00\xff\xfe binary")
        for name in names:
            args, method = COMMANDS[name]
            args = [a.replace("{blob}", str(blob)) for a in args]
            ctype31, json31 = capture("1.31", args, method, server, workdir)
            ctype32, pb32 = capture("1.32", args, method, server, workdir)
            ctype33, pb33 = capture("1.33", args, method, server, workdir)
            assert ctype31.startswith("application/json"), (name, ctype31)
            assert ctype32 == ctype33 == "application/vnd.kubernetes.protobuf", (name, ctype32, ctype33)
            if name == "autoscale":
                (HERE / "autoscale-v2.pb").write_bytes(pb33)  # 1.33 moved to autoscaling/v2
            elif pb32 != pb33:
                raise SystemExit(f"{name}: kubectl 1.32 and 1.33 sent different Protobuf")
            (HERE / f"{name}.pb").write_bytes(pb32)
            (HERE / f"{name}.json").write_bytes(json31)
            print(f"{name}: {len(pb32)} bytes of Protobuf, {len(json31)} of JSON")
    server.shutdown()


if __name__ == "__main__":
    main()
