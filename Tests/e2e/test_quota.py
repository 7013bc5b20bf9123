"""ResourceQuota and LimitRange admission, and the quota controller's recount, through kubectl."""

import json

from conftest import wait_for


def pod(name, cpu=None, limit=None):
    resources = {}
    if cpu:
        resources["requests"] = {"cpu": cpu}
    if limit:
        resources["limits"] = {"cpu": limit}
    return json.dumps({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": name},
                       "spec": {"containers": [{"name": "c", "image": "nginx", "resources": resources}]}})


def test_quota_refuses_what_exceeds_it_and_gives_back_what_is_deleted(kc):
    kc("create", "quota", "q", "--hard=pods=2,requests.cpu=1,count/configmaps=1")
    wait_for("the quota's status", lambda: json.loads(kc("get", "quota", "q", "-o", "json")).get("status", {}).get("hard", {}).get("pods") == "2")
    r = kc.run("apply", "-f", "-", input=pod("bare"), check=False)
    assert r.returncode != 0 and 'pods "bare" is forbidden: failed quota: q: must specify requests.cpu for: c' in r.stderr
    kc("apply", "-f", "-", input=pod("a", "400m"))
    kc("apply", "-f", "-", input=pod("b", "400m"))
    r = kc.run("apply", "-f", "-", input=pod("c", "400m"), check=False)
    assert r.returncode != 0
    assert ('pods "c" is forbidden: exceeded quota: q, requested: pods=1,requests.cpu=400m, '
            'used: pods=2,requests.cpu=800m, limited: pods=2,requests.cpu=1') in r.stderr
    assert "pods: 2/2, requests.cpu: 800m/1" in kc("get", "quota", "q")
    kc("create", "configmap", "one")
    r = kc.run("create", "configmap", "two", check=False)
    assert r.returncode != 0 and "exceeded quota: q, requested: count/configmaps=1" in r.stderr
    kc("delete", "pod", "a", "--wait=true")
    wait_for("usage given back", lambda: json.loads(kc("get", "quota", "q", "-o", "json"))["status"]["used"]["pods"] == "1")
    kc("apply", "-f", "-", input=pod("c", "400m"))


def test_limit_range_defaults_and_bounds(kc):
    kc("apply", "-f", "-", input=json.dumps({
        "apiVersion": "v1", "kind": "LimitRange", "metadata": {"name": "limits"},
        "spec": {"limits": [{"type": "Container", "max": {"cpu": "1"}, "default": {"cpu": "500m"}, "defaultRequest": {"cpu": "100m"}}]}}))
    kc("apply", "-f", "-", input=pod("defaulted"))
    p = json.loads(kc("get", "pod", "defaulted", "-o", "json"))
    assert p["spec"]["containers"][0]["resources"] == {"requests": {"cpu": "100m"}, "limits": {"cpu": "500m"}}
    assert p["metadata"]["annotations"]["kubernetes.io/limit-ranger"] == "LimitRanger plugin set: cpu request for container c; cpu limit for container c"
    r = kc.run("apply", "-f", "-", input=pod("greedy", "2", "2"), check=False)
    assert r.returncode != 0 and 'pods "greedy" is forbidden: maximum cpu usage per Container is 1, but limit is 2' in r.stderr
