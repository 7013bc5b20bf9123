"""`skiff images`: import OCI and docker archives, pull from a local registry, list,
remove, and clear errors. Images are built here from busybox-static; nothing comes from
the internet."""

import os
import subprocess
import time

import pytest

from conftest import SKIFF
from images import LocalRegistry, build_busybox_image, docker_archive, oci_archive


def skiff_images(data_dir, *args, check=True):
    if not os.path.exists(SKIFF):
        pytest.fail(f"{SKIFF} is missing: build with `swift build` first")
    result = subprocess.run([SKIFF, "images", *args, "--data-dir", str(data_dir)], capture_output=True, text=True, timeout=300)
    if check and result.returncode != 0:
        pytest.fail(f"skiff images {' '.join(args)} failed ({result.returncode}):\n{result.stderr}")
    return result


def table(data_dir):
    """`skiff images ls` as (image, tag) → image id."""
    lines = skiff_images(data_dir, "ls").stdout.splitlines()
    assert lines[0].split() == ["IMAGE", "TAG", "IMAGE", "ID", "SIZE"]
    return {(cols[0], cols[1]): cols[2] for cols in (line.split() for line in lines[1:])}


@pytest.fixture(scope="module")
def busybox(tmp_path_factory):
    work = tmp_path_factory.mktemp("busybox-image")
    layout = build_busybox_image(work, "1")
    return {
        "layout": layout,
        "oci": oci_archive(layout, "1", work / "busybox-oci.tar", "docker.io/library/busybox:oci"),
        "docker": docker_archive(layout, "1", work / "busybox-docker.tar", "busybox:docker"),
    }


def test_import_both_archive_kinds_idempotently(busybox, tmp_path):
    out = skiff_images(tmp_path, "import", busybox["oci"], busybox["docker"]).stdout
    assert "imported docker.io/library/busybox:oci" in out
    assert "imported docker.io/library/busybox:docker" in out
    before = table(tmp_path)
    assert ("docker.io/library/busybox", "oci") in before
    assert ("docker.io/library/busybox", "docker") in before
    # The same layer, whichever archive brought it, is unpacked once.
    layers = os.listdir(tmp_path / "images" / "layers")
    assert len(layers) == 1
    fs = tmp_path / "images" / "layers" / layers[0] / "fs"
    assert os.path.islink(fs / "bin" / "sh") and os.path.isfile(fs / "bin" / "busybox")
    assert "nobody:x:65534:65534" in (fs / "etc" / "passwd").read_text()
    # Importing again changes nothing.
    again = skiff_images(tmp_path, "import", busybox["oci"], busybox["docker"]).stdout
    assert again == out
    assert table(tmp_path) == before
    assert os.listdir(tmp_path / "images" / "layers") == layers


def test_pull_from_local_registry_then_remove(busybox, tmp_path):
    with LocalRegistry() as registry:
        oci_ref = registry.push(busybox["layout"], "1", "busybox:1")
        docker_ref = registry.push(busybox["layout"], "1", "busybox:1-docker", docker_v2s2=True)
        started = time.monotonic()
        out = skiff_images(tmp_path, "pull", oci_ref).stdout
        elapsed = time.monotonic() - started
        print(f"pull of {oci_ref} took {elapsed:.3f} s")
        assert out.startswith("Image is up to date for sha256:")
        skiff_images(tmp_path, "pull", docker_ref)
        images = table(tmp_path)
        assert (f"{registry.host}/busybox", "1") in images
        assert (f"{registry.host}/busybox", "1-docker") in images
        # Pulling what is present is immediate and needs no registry.
    out = skiff_images(tmp_path, "pull", oci_ref).stdout
    assert out.startswith("Image is up to date for sha256:")
    skiff_images(tmp_path, "rm", oci_ref)
    images = table(tmp_path)
    assert (f"{registry.host}/busybox", "1") not in images
    assert (f"{registry.host}/busybox", "1-docker") in images
    missing = skiff_images(tmp_path, "rm", oci_ref, check=False)
    assert missing.returncode != 0 and "not in the store" in missing.stderr


def test_clear_errors(busybox, tmp_path):
    bad = skiff_images(tmp_path, "pull", "Busy:Box:1", check=False)
    assert bad.returncode != 0
    assert "InvalidImageName" in bad.stderr and "invalid reference format" in bad.stderr
    with LocalRegistry() as registry:
        registry.push(busybox["layout"], "1", "busybox:1")
        missing = skiff_images(tmp_path, "pull", f"{registry.host}/busybox:nope", check=False)
    assert missing.returncode != 0
    assert "ErrImagePull" in missing.stderr
    assert "404" in missing.stderr and "manifest unknown" in missing.stderr
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not an archive" * 100)
    failed = skiff_images(tmp_path, "import", str(junk), check=False)
    assert failed.returncode != 0 and "junk.tar" in failed.stderr
    assert table(tmp_path) == {}


def test_docker_hub_image_from_a_local_mirror(busybox, tmp_path):
    """The air-gapped site: registries.yaml sends docker.io to a mirror on loopback."""
    with LocalRegistry() as registry:
        registry.push(busybox["layout"], "1", "library/busybox:mirrored")
        (tmp_path / "registries.yaml").write_text(
            f'mirrors:\n  docker.io:\n    endpoint:\n      - "http://{registry.host}"\n')
        out = skiff_images(tmp_path, "pull", "busybox:mirrored").stdout
    assert out.startswith("Image is up to date for sha256:")
    assert ("docker.io/library/busybox", "mirrored") in table(tmp_path)
