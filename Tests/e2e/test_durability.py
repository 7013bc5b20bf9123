"""An acknowledged write survives `kill -9` of the server: writes run in a burst from
several threads, the server is killed mid-burst, restarted on the same data directory,
and every write that got a 201 must be there."""

import signal
import subprocess
import threading
import time

from conftest import Server, default_kubectl
from kubernetes import client, config


def test_acknowledged_writes_survive_kill_9():
    server = Server().start()
    try:
        api = config.new_client_from_config(config_file=server.kubeconfig)
        core = client.CoreV1Api(api)
        acknowledged = []
        lock = threading.Lock()
        stop = threading.Event()

        def writer(n):
            i = 0
            while not stop.is_set() and i < 2000:
                name = f"w{n}-{i}"
                try:
                    core.create_namespaced_config_map("default", client.V1ConfigMap(
                        metadata=client.V1ObjectMeta(name=name), data={"payload": "x" * 512}), _request_timeout=5)
                except Exception:
                    return  # the server is gone; unacknowledged writes may or may not be there
                with lock:
                    acknowledged.append(name)
                i += 1

        threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        while True:
            with lock:
                if len(acknowledged) >= 300:
                    break
            stop.wait(0.01)
        server.stop(signal.SIGKILL)
        stop.set()
        for t in threads:
            t.join()
        api.close()
        assert len(acknowledged) >= 300

        server.start()
        api = config.new_client_from_config(config_file=server.kubeconfig)
        core = client.CoreV1Api(api)
        stored = {c.metadata.name for c in core.list_namespaced_config_map("default").items}
        missing = [name for name in acknowledged if name not in stored]
        assert missing == [], f"{len(missing)} acknowledged writes lost, e.g. {missing[:5]}"
        # The restarted server keeps serving writes with later revisions.
        cm = core.create_namespaced_config_map("default", client.V1ConfigMap(metadata=client.V1ObjectMeta(name="after")))
        assert int(cm.metadata.resource_version) > 0
        api.close()
    finally:
        server.cleanup()


def test_sigterm_ends_open_watches_and_exits_cleanly():
    """Graceful shutdown closes watches first: the HTTP server, which waits for open
    responses, would otherwise wait for every watch's own timeout."""
    server = Server().start()
    try:
        watch = subprocess.Popen([default_kubectl(), "--kubeconfig", server.kubeconfig, "get", "configmaps", "-A", "-w",
                                  "--request-timeout=0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(1)
        assert watch.poll() is None, watch.stderr.read()
        server.proc.send_signal(signal.SIGTERM)
        # Far below the watch's server-side timeout (30-60 minutes).
        assert server.proc.wait(timeout=60) == 0, server.read_log()
        watch.wait(timeout=60)
    finally:
        server.cleanup()
