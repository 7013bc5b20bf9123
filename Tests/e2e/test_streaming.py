"""Into the pods end to end: `kubectl exec`, `port-forward` and `cp` through the API
server to the kubelet of a real `skiff up`, with kubectl 1.27 (SPDY only), 1.29 (SPDY),
1.30 and 1.33 (WebSocket, SPDY for port-forward or tunnelled in WebSocket), and the
Python client's `kubernetes.stream`. Root only, as in CI."""

import hashlib
import json
import os
import socket
import subprocess
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


def wait_for_screen(what, screen):
    try:
        wait_for(what, lambda: what in screen(), timeout=20)
    except AssertionError as e:
        raise AssertionError(f"{e}; the terminal shows:\n{screen()}")


def versioned(k, version):
    return Kubectl(kubectl_binary(version), k.kubeconfig, k.namespace)


@pytest.mark.parametrize("version", VERSIONS)
def test_exec_output_stdin_exit_code_and_container(k, version):
    kv = versioned(k, version)
    assert kv.run("exec", "box", "--", "echo", "hello world").stdout == "hello world\n"
    # stdout and stderr both arrive, on their own streams.
    r = kv.run("exec", "box", "-c", "main", "--", "sh", "-c", "echo out; echo err >&2")
    assert (r.stdout, r.stderr) == ("out\n", "err\n")
    # stdin is fed and closed: wc sees every byte and ends.
    data = "line\n" * 10000
    assert kv.run("exec", "-i", "box", "--", "wc", "-c", input=data).stdout.strip() == str(len(data))
    # A non-zero exit code becomes kubectl's.
    r = kv.run("exec", "box", "--", "sh", "-c", "exit 3", check=False)
    assert r.returncode == 3, r
    assert "command terminated with exit code 3" in r.stderr, r
    # -c picks the container.
    assert kv.run("exec", "box", "-c", "side", "--", "cat", "/tmp/who").stdout == "side\n"
    assert kv.run("exec", "box", "--", "cat", "/tmp/who").stdout == "main\n"


class Tmux:
    """A detached tmux session running `command` in a 100x30 terminal, for `-it` clients."""

    def __init__(self, name, command):
        self.name = name.replace(".", "-")
        subprocess.run(["tmux", "new-session", "-d", "-s", self.name, "-x", "100", "-y", "30", command + "; sleep 60"], check=True)

    def screen(self):
        return subprocess.run(["tmux", "capture-pane", "-t", self.name, "-p"], capture_output=True, text=True).stdout

    def type(self, line):
        subprocess.run(["tmux", "send-keys", "-t", self.name, line, "Enter"], check=True)

    def shows(self, text):
        wait_for_screen(text, self.screen)

    def close(self):
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.mark.parametrize("version", VERSIONS)
def test_exec_tty_resizes(k, version):
    kv = versioned(k, version)
    # The first size is the terminal's from the start (the process asks after 0.2 s: crun
    # applies it from outside as the process starts; README, What does not work yet).
    command = kv.command("exec", "-it", "box", "--", "sh", "-c", "sleep 0.2; stty size")
    r = subprocess.run(["script", "-qc", f"stty rows 33 cols 77; {command}", "/dev/null"],
                       capture_output=True, text=True, timeout=60)
    assert "33 77" in r.stdout, r
    # A resize during the session reaches the terminal (tmux resizes the window).
    term = Tmux(f"tty-{version}", kv.command("exec", "-it", "box", "--", "sh"))
    try:
        term.shows("/ #")
        term.type("stty size")
        term.shows("30 100")
        subprocess.run(["tmux", "resize-window", "-t", term.name, "-x", "120", "-y", "40"], check=True)
        time.sleep(0.5)
        term.type("stty size")
        term.shows("40 120")
        term.type("exit")
    finally:
        term.close()


@pytest.mark.parametrize("version", VERSIONS)
def test_attach_to_terminal_and_stdin(k, version):
    kv = versioned(k, version)
    ref = image_of(k)
    name = "term-" + version.replace(".", "-")
    apply(k, pod(name, None, ref, containers=[
        {"name": "sh", "image": ref, "command": ["sh"], "stdin": True, "tty": True},
        {"name": "cat", "image": ref, "command": ["sh", "-c", "while read l; do echo got $l; done"], "stdin": True}]))
    k.run("wait", "--for=condition=Ready", f"pod/{name}", "--timeout=60s")
    term = Tmux(f"attach-{version}", kv.command("attach", "-it", name, "-c", "sh"))
    try:
        term.shows("If you don't see a command prompt")
        term.type("echo hello-$((6*7))")
        term.shows("hello-42")
        term.type("stty size")
        term.shows("30 100")
    finally:
        term.close()
    # Without a terminal: stdin goes to the container's stdin, its output comes back.
    proc = subprocess.Popen(kv.argv("attach", "-i", name, "-c", "cat"), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        proc.stdin.write(f"from-{version}\n")
        proc.stdin.flush()
        assert proc.stdout.readline() == f"got from-{version}\n"
    finally:
        proc.kill()
        proc.wait()
    assert f"got from-{version}" in k.run("logs", name, "-c", "cat").stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_debug_shell_next_to_a_running_container(k, version):
    kv = versioned(k, version)
    term = Tmux(f"debug-{version}", kv.command("debug", "-it", "box", f"--image={image_of(k)}", "--target=main", "--", "sh"))
    try:
        term.shows("/ #")
        # The debug container shares the target's processes.
        term.type("ps")
        term.shows("httpd -f -p 8080")
        term.type("exit")
    finally:
        term.close()
    def statuses():
        return json.loads(k.run("get", "pod", "box", "-o", "json").stdout)["status"].get("ephemeralContainerStatuses", [])
    wait_for("the debug container exited", lambda: statuses() and all(s["state"].get("terminated") for s in statuses()))
    # Ephemeral containers are only ever added.
    spec = json.loads(k.run("get", "pod", "box", "-o", "json").stdout)["spec"]["ephemeralContainers"]
    r = k.run("patch", "pod", "box", "--subresource=ephemeralcontainers", "--type=json",
              "-p", json.dumps([{"op": "remove", "path": "/spec/ephemeralContainers/0"}]), check=False)
    assert r.returncode != 0 and "may not be removed" in r.stderr, r
    assert json.loads(k.run("get", "pod", "box", "-o", "json").stdout)["spec"]["ephemeralContainers"] == spec


@pytest.mark.parametrize("version", VERSIONS)
def test_port_forward_parallel_requests_and_two_ports(k, version):
    kv = versioned(k, version)
    local_a, local_b = free_port(), free_port()
    proc = subprocess.Popen(kv.argv("port-forward", "pod/box", f"{local_a}:8080", f"{local_b}:9090"),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for("port-forward listening", lambda: listening(local_a) and listening(local_b), timeout=20)
        assert get(f"http://127.0.0.1:{local_b}/who") == "side\n"
        results = []
        threads = [threading.Thread(target=lambda: results.append(get(f"http://127.0.0.1:{local_a}/who"))) for _ in range(10)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert results == ["main\n"] * 10
        # A larger body comes through whole.
        kv.run("exec", "box", "--", "sh", "-c", "head -c 2000000 /dev/urandom > /tmp/blob")
        remote = kv.run("exec", "box", "--", "md5sum", "/tmp/blob").stdout.split()[0]
        with urllib.request.urlopen(f"http://127.0.0.1:{local_a}/blob", timeout=20) as r:
            assert hashlib.md5(r.read()).hexdigest() == remote
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.mark.parametrize("version", VERSIONS)
def test_cp_both_ways(k, version, tmp_path):
    kv = versioned(k, version)
    src = tmp_path / "in.bin"
    src.write_bytes(os.urandom(1_500_000))
    kv.run("cp", str(src), "box:/tmp/in.bin", "-c", "main")
    remote = kv.run("exec", "box", "--", "md5sum", "/tmp/in.bin").stdout.split()[0]
    assert remote == hashlib.md5(src.read_bytes()).hexdigest()
    back = tmp_path / "back.bin"
    kv.run("cp", "box:/tmp/in.bin", str(back), "-c", "main")
    assert back.read_bytes() == src.read_bytes()


def test_bad_input_and_disconnect(k):
    r = k.run("exec", "nope", "--", "true", check=False)
    assert r.returncode == 1 and 'pods "nope" not found' in r.stderr
    r = k.run("exec", "box", "-c", "nope", "--", "true", check=False)
    assert r.returncode == 1 and "container nope is not valid for pod box" in r.stderr, r
    ref = image_of(k)
    apply(k, pod("two", None, ref, restartPolicy="Never", containers=[
        {"name": "quick", "image": ref, "command": ["true"]},
        {"name": "slow", "image": ref, "command": ["sleep", "3600"]}]))
    wait_for("quick to have exited", lambda: any(
        s["name"] == "quick" and s["state"].get("terminated")
        for s in json.loads(k.run("get", "pod", "two", "-o", "json").stdout)["status"].get("containerStatuses", [])))
    for version in ("1.27", "1.33"):
        r = versioned(k, version).run("exec", "two", "-c", "quick", "--", "true", check=False)
        assert r.returncode == 1 and 'container "quick" in pod "two" is not running' in r.stderr, r
    # A client that goes away takes its process with it.
    for version in ("1.27", "1.33"):
        proc = subprocess.Popen(versioned(k, version).argv("exec", "box", "--", "sleep", "777"))
        wait_for("the exec'd process", lambda: "sleep 777" in k.run("exec", "box", "--", "ps").stdout)
        proc.kill()
        proc.wait()
        wait_for("the exec'd process gone", lambda: "sleep 777" not in k.run("exec", "box", "--", "ps").stdout, timeout=15)


def test_python_client_exec_and_port_forward(up, k):
    from kubernetes import client, config
    from kubernetes.stream import portforward, stream
    api = client.CoreV1Api(config.new_client_from_config(up.kubeconfig))
    ns = k.namespace
    out = stream(api.connect_get_namespaced_pod_exec, "box", ns, command=["sh", "-c", "echo hi; echo err >&2"],
                 container="main", stderr=True, stdin=False, stdout=True, tty=False)
    assert sorted(out.split()) == ["err", "hi"]
    resp = stream(api.connect_get_namespaced_pod_exec, "box", ns, command=["sh", "-c", "read x; echo got $x; exit 4"],
                  container="main", stderr=True, stdin=True, stdout=True, tty=False, _preload_content=False)
    resp.write_stdin("hello\n")
    resp.run_forever(timeout=10)
    assert resp.read_stdout() == "got hello\n"
    assert resp.returncode == 4
    resp.close()
    pf = portforward(api.connect_get_namespaced_pod_portforward, "box", ns, ports="8080,9090")
    sockets = {}
    for port in (8080, 9090):
        s = pf.socket(port)
        s.setblocking(True)
        s.sendall(b"GET /who HTTP/1.0\r\n\r\n")
        sockets[port] = s
    bodies = {}
    for port, s in sockets.items():
        data = b""
        while chunk := s.recv(4096):
            data += chunk
        s.close()
        bodies[port] = data.split(b"\r\n\r\n", 1)[-1]
        assert pf.error(port) is None
    assert bodies == {8080: b"main\n", 9090: b"side\n"}
    pf.close()


def image_of(k):
    return json.loads(k.run("get", "pod", "box", "-o", "json").stdout)["spec"]["containers"][0]["image"]


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listening(port):
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def get(url):
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.read().decode()
