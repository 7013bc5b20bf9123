"""Services end to end: `skiff up` on this machine, real pods behind ClusterIPs, NodePorts
and LoadBalancer addresses programmed in nftables by the agent's proxy, and names answered
by its cluster DNS on 10.43.0.10 — reached from the host and from other pods. Root only,
as in CI."""

import json
import socket
import subprocess
import threading
import urllib.request

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

from conftest import SKIFF
# The node suite's fixtures (a busybox image, a local registry, `skiff up`), one per module.
from test_node import apply, fresh, image, image_workdir, registry, up, wait_for  # noqa: F401

DNS = "10.43.0.10"


def web(image_ref, name="web", replicas=2, readiness=None, labels=None):
    """Pods that answer HTTP on 8080 with their own name; ready unless their name is listed
    in the `rotation` ConfigMap's `out` key (when `readiness` is "configmap")."""
    labels = labels or {"app": name}
    container = {"name": "httpd", "image": image_ref, "ports": [{"containerPort": 8080, "name": "http"}],
                 "command": ["sh", "-c", "hostname > /tmp/index.html; exec httpd -f -p 8080 -h /tmp"],
                 "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1}}
    spec = {"terminationGracePeriodSeconds": 1, "containers": [container]}
    if readiness == "configmap":
        container["readinessProbe"] = {"exec": {"command": ["sh", "-c", '! grep -qx "$(hostname)" /rotation/out']},
                                       "periodSeconds": 1, "failureThreshold": 1}
        container["volumeMounts"] = [{"name": "rotation", "mountPath": "/rotation"}]
        spec["volumes"] = [{"name": "rotation", "configMap": {"name": "rotation"}}]
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
            "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
                     "template": {"metadata": {"labels": labels}, "spec": spec}}}


def service(name, selector=None, **spec):
    spec = {"ports": [{"name": "http", "port": 80, "targetPort": "http"}], **spec}
    if selector is not None:
        spec["selector"] = selector
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name}, "spec": spec}


def ready_pods(k, selector, count):
    def check():
        items = json.loads(k.run("get", "pods", "-l", selector, "-o", "json").stdout)["items"]
        ok = [p for p in items if p["status"].get("podIP") and not p["metadata"].get("deletionTimestamp")
              and all(c.get("ready") for c in p["status"].get("containerStatuses", []) or [{}])]
        return ok if len(ok) == count and len(items) == count else None
    return wait_for(f"{count} pods {selector} Ready", check, timeout=90)


def get(url, timeout=3):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return r.read().decode().strip()


def answers(url, n=50):
    return [get(url) for _ in range(n)]


def svc(k, name):
    return json.loads(k.run("get", "service", name, "-o", "json").stdout)


def resolve(name, rdtype="A", tcp=False):
    q = dns.message.make_query(name, rdtype)
    return (dns.query.tcp if tcp else dns.query.udp)(q, DNS, timeout=3)


def a_records(response):
    return sorted(r.address for rrset in response.answer if rrset.rdtype == dns.rdatatype.A for r in rrset)


def node_ip(k):
    node = json.loads(k.run("get", "nodes", "-o", "json").stdout)["items"][0]
    return next(a["address"] for a in node["status"]["addresses"] if a["type"] == "InternalIP")


def pod_logs(k, name, count=1):
    wait_for(f"pod {name} finished", lambda: json.loads(k.run("get", "pod", name, "-o", "json").stdout)["status"].get("phase")
             in ("Succeeded", "Failed"), timeout=120)
    return k.run("logs", name).stdout


# busybox's wget crashes in the static Debian build (its service-name lookup needs NSS
# libraries the image lacks): pods speak HTTP/1.0 through nc instead.
HTTP_GET = 'get() { printf "GET /index.html HTTP/1.0\\r\\n\\r\\n" | nc -w 3 "$1" "${2:-80}" | tail -1; }\n'


def client_pod(k, image_ref, name, script, node=None):
    spec = {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1,
            "containers": [{"name": "c", "image": image_ref, "command": ["sh", "-c", HTTP_GET + script]}]}
    if node:
        spec["nodeName"] = node
    apply(k, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name}, "spec": spec})
    return pod_logs(k, name)


def refused(host, port):
    """True when a connection is refused at once (REJECT), False when it times out."""
    try:
        socket.create_connection((host, port), timeout=5).close()
    except ConnectionRefusedError:
        return True
    except (socket.timeout, TimeoutError):
        return False
    raise AssertionError(f"{host}:{port} accepted a connection")


def test_cluster_ip_and_name_reach_both_pods_from_host_and_pod(up, registry):
    k = fresh(up)
    ns = k.namespace
    apply(k, web(image(registry)))
    apply(k, service("web", {"app": "web"}))
    names = {p["metadata"]["name"] for p in ready_pods(k, "app=web", 2)}
    ip = svc(k, "web")["spec"]["clusterIP"]
    wait_for("both pods behind the ClusterIP", lambda: set(answers(f"http://{ip}/index.html", 20)) == names)
    assert set(answers(f"http://{ip}/index.html")) == names

    # The name, answered by the agent's DNS, over UDP and TCP.
    fqdn = f"web.{ns}.svc.cluster.local"
    assert a_records(resolve(fqdn)) == [ip]
    assert a_records(resolve(fqdn, tcp=True)) == [ip]
    assert resolve(f"nothing.{ns}.svc.cluster.local").rcode() == dns.rcode.NXDOMAIN
    (resolved,) = a_records(resolve(fqdn))
    assert set(answers(f"http://{resolved}/index.html")) == names

    # From another pod: the search path, the full name and 50 requests to each.
    logs = client_pod(k, image(registry), "client", f"""
        cat /etc/resolv.conf
        nslookup web | sed -n 's/^Address: /short: /p'
        addr=$(nslookup {fqdn} | sed -n 's/^Address: //p' | tail -1)
        echo "long: $addr"
        for i in $(seq 50); do get $WEB_SERVICE_HOST; done
        for i in $(seq 50); do get $addr; done
    """)
    assert f"nameserver {DNS}" in logs and f"search {ns}.svc.cluster.local svc.cluster.local cluster.local" in logs
    assert f"short: {ip}" in logs and f"long: {ip}" in logs
    served = [line for line in logs.splitlines() if line in names]
    assert len(served) == 100 and set(served) == names, logs


def served_by_one_pod(k, registry):
    """A one-pod Deployment `web` behind a Service `web`, serving: its ClusterIP."""
    apply(k, web(image(registry), replicas=1))
    apply(k, service("web", {"app": "web"}))
    ready_pods(k, "app=web", 1)
    ip = svc(k, "web")["spec"]["clusterIP"]
    wait_for("served", lambda: get(f"http://{ip}/index.html"))
    return ip


def test_scaled_to_zero_refuses_at_once_and_serves_when_back(up, registry):
    k = fresh(up)
    ip = served_by_one_pod(k, registry)
    k.run("scale", "deployment", "web", "--replicas=0")
    wait_for("no pods left", lambda: not json.loads(k.run("get", "pods", "-l", "app=web", "-o", "json").stdout)["items"])
    wait_for("the ClusterIP refusing", lambda: refused(ip, 80), timeout=10)
    k.run("scale", "deployment", "web", "--replicas=1")
    (pod,) = ready_pods(k, "app=web", 1)
    wait_for("served again", lambda: get(f"http://{ip}/index.html") == pod["metadata"]["name"], timeout=10, interval=0.05)


def test_pod_failing_readiness_leaves_rotation_and_returns(up, registry):
    k = fresh(up)
    k.run("create", "configmap", "rotation", "--from-literal=out=")
    apply(k, web(image(registry), readiness="configmap"))
    apply(k, service("web", {"app": "web"}))
    pods = sorted(p["metadata"]["name"] for p in ready_pods(k, "app=web", 2))
    ip = svc(k, "web")["spec"]["clusterIP"]
    wait_for("both pods serving", lambda: set(answers(f"http://{ip}/index.html", 20)) == set(pods))
    k.run("patch", "configmap", "rotation", "-p", json.dumps({"data": {"out": pods[0]}}))
    wait_for(f"{pods[0]} out of rotation", lambda: set(answers(f"http://{ip}/index.html", 20)) == {pods[1]}, timeout=120)
    k.run("patch", "configmap", "rotation", "-p", json.dumps({"data": {"out": ""}}))
    wait_for(f"{pods[0]} back", lambda: set(answers(f"http://{ip}/index.html", 20)) == set(pods), timeout=120)


def test_node_port_load_balancer_and_session_affinity(up, registry):
    k = fresh(up)
    apply(k, web(image(registry)))
    names = {p["metadata"]["name"] for p in ready_pods(k, "app=web", 2)}
    apply(k, service("np", {"app": "web"}, type="NodePort"))
    apply(k, service("lb", {"app": "web"}, type="LoadBalancer"))
    apply(k, service("sticky", {"app": "web"}, sessionAffinity="ClientIP"))
    address = node_ip(k)
    port = svc(k, "np")["spec"]["ports"][0]["nodePort"]
    assert 30000 <= port <= 32767
    wait_for("the NodePort on the node's address", lambda: set(answers(f"http://{address}:{port}/index.html", 20)) == names)
    assert set(answers(f"http://127.0.0.1:{port}/index.html", 20)) == names

    ingress = wait_for("the LoadBalancer's address", lambda: svc(k, "lb")["status"].get("loadBalancer", {}).get("ingress"))
    assert ingress == [{"ip": address, "ipMode": "VIP"}]
    assert address in k.run("get", "service", "lb").stdout
    wait_for("the LoadBalancer address serving", lambda: set(answers(f"http://{address}/index.html", 20)) == names)

    ip = svc(k, "sticky")["spec"]["clusterIP"]
    first = wait_for("sticky served", lambda: get(f"http://{ip}/index.html"))
    assert set(answers(f"http://{ip}/index.html", 30)) == {first}

    # A NodePort asked for explicitly is checked against the others.
    r = k.run("create", "service", "nodeport", "taken", "--tcp=80:8080", f"--node-port={port}", check=False)
    assert r.returncode != 0 and f"spec.ports[0].nodePort: Invalid value: {port}: provided port is already allocated" in r.stderr


def udp_echo(address, label):
    """A UDP server on the host answering every datagram with `label`; returns its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((address, 0))

    def serve():
        while True:
            data, peer = sock.recvfrom(512)
            sock.sendto(label, peer)
    threading.Thread(target=serve, daemon=True).start()
    return sock.getsockname()[1]


def test_udp_service_follows_its_endpoints(up):
    """A Service without a selector, its EndpointSlice written by hand, pointing at UDP
    servers on the node; moving the endpoint must move the flow at once, which needs the
    proxy to delete the flow's conntrack entry (UDP has no connection to end)."""
    k = fresh(up)
    address = node_ip(k)
    first, second = udp_echo(address, b"first"), udp_echo(address, b"second")
    apply(k, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "echo"},
              "spec": {"ports": [{"name": "echo", "port": 5353, "protocol": "UDP"}]}})
    def endpoint_slice(port):
        return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
                "metadata": {"name": "echo-manual", "labels": {"kubernetes.io/service-name": "echo"}},
                "ports": [{"name": "echo", "port": port, "protocol": "UDP"}],
                "endpoints": [{"addresses": [address], "conditions": {"ready": True}}]}
    apply(k, endpoint_slice(first))
    ip = svc(k, "echo")["spec"]["clusterIP"]
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.settimeout(0.5)

    def ask():
        client.sendto(b"?", (ip, 5353))
        return client.recv(512)
    wait_for("the first server answering", lambda: ask() == b"first", timeout=20)
    apply(k, endpoint_slice(second))
    wait_for("the same flow answered by the second", lambda: ask() == b"second", timeout=10)
    client.close()


def test_pod_reaches_itself_through_its_service(up, registry):
    k = fresh(up)
    apply(k, service("selfie", {"app": "selfie"}, ports=[{"name": "http", "port": 80, "targetPort": 8080}]))
    apply(k, {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "selfie", "labels": {"app": "selfie"}},
              "spec": {"restartPolicy": "Never", "terminationGracePeriodSeconds": 1, "containers": [{
                  "name": "c", "image": image(registry), "ports": [{"containerPort": 8080}],
                  "readinessProbe": {"httpGet": {"path": "/index.html", "port": 8080}, "periodSeconds": 1},
                  "command": ["sh", "-c", HTTP_GET + "hostname > /tmp/index.html; httpd -p 8080 -h /tmp; "
                              'for i in $(seq 60); do out=$(get $SELFIE_SERVICE_HOST); [ -n "$out" ] && echo "$out" && exit 0; sleep 1; done; exit 1']}]}})
    logs = pod_logs(k, "selfie")
    assert "selfie" in logs.splitlines(), logs


def test_headless_and_external_name_resolve(up, registry):
    k = fresh(up)
    ns = k.namespace
    apply(k, web(image(registry)))
    ips = sorted(p["status"]["podIP"] for p in ready_pods(k, "app=web", 2))
    apply(k, service("web-headless", {"app": "web"}, clusterIP="None"))
    apply(k, service("web", {"app": "web"}))
    apply(k, {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "alias"},
              "spec": {"type": "ExternalName", "externalName": f"web.{ns}.svc.cluster.local"}})
    wait_for("the headless name answering with the pods", lambda: a_records(resolve(f"web-headless.{ns}.svc.cluster.local")) == ips)
    r = wait_for("the ExternalName as a CNAME", lambda: resolve(f"alias.{ns}.svc.cluster.local"))
    cname = [rr for rrset in r.answer if rrset.rdtype == dns.rdatatype.CNAME for rr in rrset]
    assert [str(c.target) for c in cname] == [f"web.{ns}.svc.cluster.local."]
    assert a_records(r) == [svc(k, "web")["spec"]["clusterIP"]]
    srv = resolve(f"_http._tcp.web.{ns}.svc.cluster.local", "SRV")
    assert [(rr.port, str(rr.target)) for rrset in srv.answer for rr in rrset] == [(80, f"web.{ns}.svc.cluster.local.")]


def test_deleting_a_service_removes_its_rules(up, registry):
    k = fresh(up)
    ip = served_by_one_pod(k, registry)
    assert ip in subprocess.run(["nft", "list", "table", "ip", "skiff_proxy"], capture_output=True, text=True).stdout
    k.run("delete", "service", "web")
    wait_for("its rules gone", lambda: ip not in subprocess.run(["nft", "list", "table", "ip", "skiff_proxy"],
                                                                 capture_output=True, text=True).stdout)
    assert refused(ip, 80)
    # Each of those changes was timed, from the proxy seeing it to the rules applied.
    metrics = get("http://127.0.0.1:10249/metrics")
    count = next(float(line.split()[-1]) for line in metrics.splitlines()
                 if line.startswith("kubeproxy_network_programming_duration_seconds_count"))
    assert count >= 2, metrics


def test_cleanup_proxy_leaves_no_skiff_table(up):
    # After its own cluster is gone: a second one here would share the host's table.
    up.stop()
    r = subprocess.run([SKIFF, "agent", "--cleanup-proxy"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, check=True).stdout
    assert "skiff_proxy" not in tables
    assert "10.43.0.0/16" not in subprocess.run(["ip", "route", "show", "table", "local"], capture_output=True, text=True).stdout
