"""End-to-end fixtures: the real `skiff` binary, the real kubectl binaries, the official
Python client. Everything talks to 127.0.0.1 only."""

import json
import os
import pathlib
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import time
import urllib.request
import uuid

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIFF = os.environ.get("SKIFF_BIN", str(ROOT / ".build" / "debug" / "skiff"))
KUBECTL_VERSIONS = ["1.27", "1.30", "1.33"]


def kubectl_dir():
    path = shutil.which("kubectl")
    return pathlib.Path(os.path.realpath(path)).parent if path else None


def kubectl_binary(version):
    d = kubectl_dir()
    if d is None or not (d / f"kubectl.{version}").exists():
        pytest.skip(f"SKIPPED LOUDLY: kubectl.{version} is not installed beside `kubectl` on this machine")
    return str(d / f"kubectl.{version}")


def default_kubectl():
    """The kubectl the fixtures use for set-up (what the tests check is elsewhere)."""
    d = kubectl_dir()
    if d is None:
        pytest.skip("SKIPPED LOUDLY: no kubectl on this machine")
    for v in ["1.30"] + KUBECTL_VERSIONS:
        if (d / f"kubectl.{v}").exists():
            return str(d / f"kubectl.{v}")
    return str(d / "kubectl")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A `skiff server` process on a fresh data directory and port."""

    def __init__(self, data_dir=None, port=None, extra=()):
        if not os.path.exists(SKIFF):
            pytest.fail(f"{SKIFF} is missing: build with `swift build` first")
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="skiff-e2e-")
        self.port = port or free_port()
        self.extra = list(extra)
        self.proc = None
        self.log = open(os.path.join(self.data_dir, "server.log"), "ab")

    @property
    def kubeconfig(self):
        return os.path.join(self.data_dir, "kubeconfig.yaml")

    @property
    def url(self):
        return f"https://127.0.0.1:{self.port}"

    def start(self, timeout=30):
        self.proc = subprocess.Popen(
            [SKIFF, "server", "--data-dir", self.data_dir, "--port", str(self.port), "--bind-address", "127.0.0.1", *self.extra],
            stdout=self.log, stderr=self.log)
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"skiff server exited with {self.proc.returncode}: {self.read_log()}")
            try:
                with urllib.request.urlopen(f"{self.url}/readyz", context=ctx, timeout=1) as r:
                    if r.status == 200 and os.path.exists(self.kubeconfig) and self.namespace_exists("default"):
                        return self
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"skiff server did not become ready: {self.read_log()}")

    def namespace_exists(self, name):
        r = subprocess.run([default_kubectl(), "--kubeconfig", self.kubeconfig, "get", "ns", name],
                           capture_output=True, text=True)
        return r.returncode == 0

    def read_log(self):
        try:
            return pathlib.Path(self.data_dir, "server.log").read_text()[-4000:]
        except OSError:
            return ""

    def stop(self, sig=signal.SIGTERM):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode if self.proc else None

    def cleanup(self):
        self.stop()
        self.log.close()
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server():
    s = Server().start()
    yield s
    s.cleanup()


@pytest.fixture
def namespace(server):
    name = f"e2e-{uuid.uuid4().hex[:8]}"
    subprocess.run([default_kubectl(), "--kubeconfig", server.kubeconfig, "create", "namespace", name],
                   check=True, capture_output=True)
    return name


class Kubectl:
    def __init__(self, binary, kubeconfig, namespace=None):
        self.binary = binary
        self.kubeconfig = kubeconfig
        self.namespace = namespace
        self.cache = tempfile.mkdtemp(prefix="kubectl-cache-")

    def argv(self, *args):
        cmd = [self.binary, "--kubeconfig", self.kubeconfig, "--cache-dir", self.cache]
        if self.namespace:
            cmd += ["-n", self.namespace]
        return cmd + list(args)

    def command(self, *args):
        """The command line as a shell would take it."""
        return " ".join(shlex.quote(a) for a in self.argv(*args))

    def run(self, *args, input=None, check=True, timeout=60):
        r = subprocess.run(self.argv(*args), input=input, capture_output=True, text=True, timeout=timeout)
        if check and r.returncode != 0:
            raise AssertionError(f"kubectl {' '.join(args)} failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        return r

    def __call__(self, *args, **kw):
        return self.run(*args, **kw).stdout


@pytest.fixture(params=KUBECTL_VERSIONS)
def kubectl(request, server, namespace):
    k = Kubectl(kubectl_binary(request.param), server.kubeconfig, namespace)
    k.version = request.param
    yield k
    shutil.rmtree(k.cache, ignore_errors=True)


class Agent:
    """`skiff agent --simulate N` joined to a server with its token."""

    def __init__(self, server, count=3, extra=()):
        token = open(os.path.join(server.data_dir, "token")).read().strip()
        self.log = open(os.path.join(server.data_dir, "agent.log"), "ab")
        self.proc = subprocess.Popen([SKIFF, "agent", "--server", server.url, "--token", token, "--simulate", str(count), *extra],
                                     stdout=self.log, stderr=self.log)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def simulated_cluster(extra=()):
    """A server (with `extra` flags) and an agent simulating 3 nodes of 2 CPU and 4Gi,
    yielded once the nodes have registered; both stopped afterwards."""
    server = Server(extra=extra).start()
    agent = Agent(server, 3, ["--node-cpu", "2", "--node-memory", "4Gi"])
    try:
        k = Kubectl(default_kubectl(), server.kubeconfig)
        deadline = time.time() + 30
        while len(json.loads(k("get", "nodes", "-o", "json"))["items"]) < 3:
            if time.time() > deadline:
                raise AssertionError("simulated nodes never registered: " + server.read_log())
            time.sleep(0.2)
        yield server
    finally:
        agent.stop()
        server.cleanup()


@pytest.fixture(scope="module")
def cluster():
    yield from simulated_cluster()


def in_fresh_namespace(server, binary=None):
    """kubectl (`binary`, else the default version) in a new namespace of `server`."""
    k = Kubectl(binary or default_kubectl(), server.kubeconfig)
    ns = f"e2e-{uuid.uuid4().hex[:8]}"
    k("create", "namespace", ns)
    k.namespace = ns
    return k


@pytest.fixture
def kc(cluster):
    return in_fresh_namespace(cluster)


def wait_for(what, condition, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def pods(k, selector="app=web"):
    return [p for p in json.loads(k("get", "pods", "-l", selector, "-o", "json"))["items"] if not p["metadata"].get("deletionTimestamp")]
