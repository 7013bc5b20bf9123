"""Image helpers for end-to-end suites: a busybox image built here (busybox-static and
umoci, nothing from the internet), its OCI and docker archives (skopeo), and a local
registry (Debian's docker-registry on 127.0.0.1) to pull it from."""

import os
import pathlib
import platform
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.request

import pytest

BUSYBOX = "/bin/busybox"


def require_tools(*tools):
    """Skip loudly when an image tool is missing (scripts/setup installs them on CI)."""
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"SKIPPED LOUDLY: {', '.join(missing)} not installed (Debian packages umoci, skopeo, docker-registry, busybox-static)")


def go_arch():
    """Docker's name for this machine's architecture."""
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(platform.machine(), platform.machine())


def run(*cmd, cwd=None):
    result = subprocess.run(list(cmd), cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({result.returncode}): {result.stderr.strip()}")
    return result.stdout


def build_busybox_image(workdir, tag="latest"):
    """An OCI layout at <workdir>/oci holding `tag`: /bin/busybox with its applet symlinks,
    /etc/passwd and /etc/group with root and nobody (65534), Cmd ["sh"] and a PATH."""
    require_tools("umoci")
    if not os.path.exists(BUSYBOX):
        pytest.skip("SKIPPED LOUDLY: /bin/busybox missing (Debian package busybox-static)")
    workdir = pathlib.Path(workdir)
    layout = workdir / "oci"
    bundle = workdir / f"bundle-{tag}"
    if not layout.exists():
        run("umoci", "init", "--layout", str(layout))
    run("umoci", "new", "--image", f"{layout}:{tag}")
    run("umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle))
    rootfs = bundle / "rootfs"
    for d in ["bin", "etc", "tmp", "proc", "sys", "dev", "root", "var/www"]:
        (rootfs / d).mkdir(parents=True, exist_ok=True)
    os.chmod(rootfs / "tmp", 0o1777)
    shutil.copy2(BUSYBOX, rootfs / "bin" / "busybox")
    for applet in run(BUSYBOX, "--list").split():
        if applet != "busybox" and not (rootfs / "bin" / applet).exists():
            os.symlink("busybox", rootfs / "bin" / applet)
    (rootfs / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n")
    (rootfs / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")
    run("umoci", "repack", "--image", f"{layout}:{tag}", str(bundle))
    run("umoci", "config", "--image", f"{layout}:{tag}", "--config.cmd", "sh",
        "--config.env", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "--architecture", go_arch(), "--os", "linux")
    shutil.rmtree(bundle)
    return str(layout)


def oci_archive(layout, tag, dest, name):
    """An OCI archive of `layout:tag` whose image is named `name` (a full reference)."""
    require_tools("skopeo")
    run("skopeo", "copy", "--quiet", f"oci:{layout}:{tag}", f"oci-archive:{dest}:{name}")
    return str(dest)


def docker_archive(layout, tag, dest, name):
    """A `docker save`-format archive of `layout:tag` with RepoTags [name]."""
    require_tools("skopeo")
    run("skopeo", "copy", "--quiet", f"oci:{layout}:{tag}", f"docker-archive:{dest}:{name}")
    return str(dest)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalRegistry:
    """docker-registry on 127.0.0.1, a free port and temporary storage, for `with`."""

    def __init__(self):
        require_tools("docker-registry", "skopeo")
        self.dir = tempfile.mkdtemp(prefix="skiff-registry-")
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.proc = None

    def __enter__(self):
        config = os.path.join(self.dir, "config.yml")
        with open(config, "w") as f:
            f.write("version: 0.1\n"
                    f"storage: {{ filesystem: {{ rootdirectory: {self.dir}/data }}, delete: {{ enabled: true }} }}\n"
                    f"http: {{ addr: {self.host} }}\n"
                    "log: { level: warn }\n")
        self.log = open(os.path.join(self.dir, "registry.log"), "ab")
        self.proc = subprocess.Popen(["docker-registry", "serve", config], stdout=self.log, stderr=self.log)
        deadline = time.time() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://{self.host}/v2/", timeout=1) as r:
                    if r.status == 200:
                        return self
            except OSError:
                pass
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError(f"docker-registry did not start; see {self.dir}/registry.log")
            time.sleep(0.1)

    def push(self, layout, tag, repo_tag, docker_v2s2=False):
        """Pushes `layout:tag` as `<host>/<repo_tag>`; returns that reference."""
        ref = f"{self.host}/{repo_tag}"
        fmt = ["--format", "v2s2"] if docker_v2s2 else []
        run("skopeo", "copy", "--quiet", "--dest-tls-verify=false", *fmt, f"oci:{layout}:{tag}", f"docker://{ref}")
        return ref

    def __exit__(self, *exc):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)
