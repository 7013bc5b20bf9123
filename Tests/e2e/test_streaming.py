"""Into the pods end to end: `kubectl exec`, `port-forward` and `cp` through the API
server to the kubelet of a real `skiff up`, with kubectl 1.27 (SPDY only), 1.29 (SPDY),
1.30 and 1.33 (WebSocket, SPDY for port-forward or tunnelled in WebSocket), and the
Python client's `kubernetes.stream`. Root only, as in CI."""

import hashlib
import json
import os
import socket
import subprocess
import tempfile
import threading
import time
import urllib.request

import pytest

from conftest import Kubectl, kubectl_binary

from test_node import apply, fresh, image, image_workdir, pod, registry, up, wait_for  # noqa: F401

VERSIONS = ["1.27", "1.29", "1.30", "1.33"]


@pytest.fixture(scope="module")
def k(up, registry):
    """A namespace with a running two-container pod `box` (containers main and side)."""
    k = fresh(up)
    ref = image(registry)
    apply(k, pod("box", None, ref, containers=[
        {"name": "main", "image": ref, "command": ["sh", "-c", "echo main > /tmp/who; exec httpd -f -p 8080 -h /tmp"]},
        {"name": "side", "image": ref, "command": ["sh", "-c", "echo side > /tmp/who; exec httpd -f -p 9090 -h /tmp"]},
    ]))
    k.run("wait", "--for=condition=Ready", "pod/box", "--timeout=90s")
    return k


def versioned(k, version):
    return Kubectl(kubectl_binary(version), k.kubeconfig, k.namespace)


@pytest.mark.parametrize("version", VERSIONS)
def test_exec_output_stdin_exit_code_and_container(k, version):
    kv = versioned(k, version)
    assert kv.run("exec", "box", "--", "echo", "hello world").stdout == "hello world\n"
    # stdout and stderr both arrive, on their own streams.
    r = kv.run("exec", "box", "--", "sh", "-c", "echo out; echo err >&2")
    assert (r.stdout, r.stderr) == ("out\n", "err\n")
    # stdin is fed and closed: wc sees every byte and ends.
    data = "line\n" * 10000
    assert kv.run("exec", "-i", "box", "--", "wc", "-c", input=data).stdout.strip() == str(len(data))
    # A non-zero exit code becomes kubectl's.
    r = kv.run("exec", "box", "--", "sh", "-c", "exit 3", check=False)
    assert r.returncode == 3, r
    assert "command terminated with exit code 3" in r.stderr
    # -c picks the container.
    assert kv.run("exec", "box", "-c", "side", "--", "cat", "/tmp/who").stdout == "side\n"
    assert kv.run("exec", "box", "--", "cat", "/tmp/who").stdout == "main\n"
