"""The official Python client (pip `kubernetes`) against the real `skiff server`."""

import json
import threading
import time

import pytest
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException


@pytest.fixture
def api(server):
    c = config.new_client_from_config(config_file=server.kubeconfig)
    yield c
    c.close()


def pod_body(name, labels=None):
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels or {"app": "demo"}),
        spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="busybox:1.36", command=["sleep", "3600"])]))


def test_crud(api, namespace):
    core = client.CoreV1Api(api)
    created = core.create_namespaced_pod(namespace, pod_body("p1"))
    assert created.metadata.uid and created.metadata.resource_version
    assert created.spec.restart_policy == "Always"
    assert created.status.phase == "Pending"
    read = core.read_namespaced_pod("p1", namespace)
    assert read.metadata.uid == created.metadata.uid
    patched = core.patch_namespaced_pod("p1", namespace, {"metadata": {"labels": {"extra": "yes"}}})
    assert patched.metadata.labels == {"app": "demo", "extra": "yes"}
    read.metadata.labels["replaced"] = "true"
    replaced = core.replace_namespaced_pod("p1", namespace, patched)
    assert int(replaced.metadata.resource_version) > int(patched.metadata.resource_version) or replaced == patched
    deleted = core.delete_namespaced_pod("p1", namespace)
    assert deleted.metadata.name == "p1"
    with pytest.raises(ApiException) as e:
        core.read_namespaced_pod("p1", namespace)
    assert e.value.status == 404


def test_deployments_and_json_patch(api, namespace):
    apps = client.AppsV1Api(api)
    body = client.V1Deployment(
        metadata=client.V1ObjectMeta(name="web"),
        spec=client.V1DeploymentSpec(
            replicas=2, selector=client.V1LabelSelector(match_labels={"app": "web"}),
            template=client.V1PodTemplateSpec(
                metadata=client.V1ObjectMeta(labels={"app": "web"}),
                spec=client.V1PodSpec(containers=[client.V1Container(name="main", image="nginx:1.27")]))))
    d = apps.create_namespaced_deployment(namespace, body)
    assert d.spec.strategy.type == "RollingUpdate"
    d = apps.patch_namespaced_deployment("web", namespace, [{"op": "replace", "path": "/spec/replicas", "value": 4}])
    assert d.spec.replicas == 4
    scale = apps.patch_namespaced_deployment_scale("web", namespace, {"spec": {"replicas": 1}})
    assert scale.spec.replicas == 1
    assert apps.read_namespaced_deployment("web", namespace).metadata.generation == 3


def test_selectors_and_pagination(api, namespace):
    core = client.CoreV1Api(api)
    for i in range(12):
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(
            metadata=client.V1ObjectMeta(name=f"cm{i:02d}", labels={"parity": "even" if i % 2 == 0 else "odd"}),
            data={"i": str(i)}))
    even = core.list_namespaced_config_map(namespace, label_selector="parity=even")
    assert [c.metadata.name for c in even.items] == [f"cm{i:02d}" for i in range(0, 12, 2)]
    by_name = core.list_namespaced_config_map(namespace, field_selector="metadata.name=cm03")
    assert [c.metadata.name for c in by_name.items] == ["cm03"]
    names, token, pages = [], None, 0
    while True:
        page = core.list_namespaced_config_map(namespace, limit=5, _continue=token)
        names += [c.metadata.name for c in page.items]
        pages += 1
        token = page.metadata._continue
        if not token:
            break
    assert names == [f"cm{i:02d}" for i in range(12)]
    assert pages == 3


def test_watch_from_resource_version(api, namespace):
    core = client.CoreV1Api(api)
    listed = core.list_namespaced_config_map(namespace)
    rv = listed.metadata.resource_version

    def writer():
        time.sleep(0.5)
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="w1")))
        core.patch_namespaced_config_map("w1", namespace, {"data": {"a": "1"}})
        core.delete_namespaced_config_map("w1", namespace)

    t = threading.Thread(target=writer)
    t.start()
    seen = []
    w = watch.Watch()
    for event in w.stream(core.list_namespaced_config_map, namespace, resource_version=rv, timeout_seconds=5):
        seen.append((event["type"], event["object"].metadata.name))
        if len(seen) == 3:
            w.stop()
    t.join()
    assert seen == [("ADDED", "w1"), ("MODIFIED", "w1"), ("DELETED", "w1")]


def test_conflicts_and_error_status_bodies(api, namespace):
    core = client.CoreV1Api(api)
    cm = core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c"), data={"a": "1"}))
    core.patch_namespaced_config_map("c", namespace, {"data": {"a": "2"}})
    cm.data = {"a": "3"}
    with pytest.raises(ApiException) as e:
        core.replace_namespaced_config_map("c", namespace, cm)
    assert e.value.status == 409
    status = json.loads(e.value.body)
    assert status["kind"] == "Status" and status["reason"] == "Conflict" and status["code"] == 409

    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="c")))
    assert e.value.status == 409 and json.loads(e.value.body)["reason"] == "AlreadyExists"

    with pytest.raises(ApiException) as e:
        core.create_namespaced_config_map(namespace, client.V1ConfigMap(metadata=client.V1ObjectMeta(name="UPPER")))
    body = json.loads(e.value.body)
    assert e.value.status == 422 and body["reason"] == "Invalid"
    assert body["details"]["causes"][0]["field"] == "metadata.name"

    with pytest.raises(ApiException) as e:
        core.read_namespaced_config_map("missing", namespace)
    assert json.loads(e.value.body)["message"] == 'configmaps "missing" not found'


def test_version_and_discovery(api):
    info = client.VersionApi(api).get_code()
    assert info.major == "1" and info.git_version
    groups = client.ApisApi(api).get_api_versions()
    assert "apps" in [g.name for g in groups.groups]
