"""Executor images, the gs:// shim, and Python environments built with uv (the slow ones)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from vertexd.core.errors import InvalidArgument
from vertexd.launch import digests, executors
from vertexd.launch.environments import (
    MARKER,
    EnvironmentBuilder,
    EnvironmentBuildError,
    install_gs_shim,
    pip_sources,
    uv_binary,
    uv_source_options,
)
from vertexd.storage import Storage

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "logreg_trainer"
SKLEARN = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"


# -- executor images ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uri",
    [
        "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest",
        "europe-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0",
        "asia-docker.pkg.dev/vertex-ai/training/sklearn-gpu.1-0:20240101",
        "gcr.io/cloud-aiplatform/training/sklearn-cpu.1-0@sha256:0123abcd",
    ],
)
def test_any_mirror_and_tag_find_the_same_executor(uri: str) -> None:
    executor = executors.lookup(uri)
    assert executor is not None and executor.version == "1.0"
    assert executor.requirements == executors.lookup(SKLEARN).requirements  # type: ignore[union-attr]
    assert executor.gpu == ("-gpu." in uri)


def test_catalogue_covers_the_four_cpu_families_and_gpu_twins() -> None:
    registry = "us-docker.pkg.dev/vertex-ai/training"
    for name in [
        "sklearn-cpu.1-6",
        "xgboost-cpu.2-1",
        "tf-cpu.2-15.py310",
        "pytorch-xla.2-2.py310",
    ]:
        cpu = executors.lookup(f"{registry}/{name}:latest")
        gpu = executors.lookup(f"{registry}/{name.replace('-cpu', '-gpu').replace('-xla', '-gpu')}")
        assert cpu is not None and gpu is not None, name
        assert cpu.requirements == gpu.requirements and gpu.gpu and not cpu.gpu
    torch = executors.lookup(f"{registry}/pytorch-cpu.2-2.py310:latest")
    assert torch is not None and "torch==2.13.0" in torch.requirements
    assert "scikit-learn>=1.1.3,<2" in executors.lookup(SKLEARN).requirements  # type: ignore[union-attr]
    assert f"{registry}/sklearn-cpu.1-0:latest" in executors.known_images()
    assert all(uri.startswith(registry + "/") for uri in executors.known_images())


def test_unknown_image_message_lists_known_images() -> None:
    message = executors.unknown_image_message("docker.io/library/python:3.11")
    assert "docker.io/library/python:3.11 is not a known prebuilt training image" in message
    for family in ["sklearn-cpu", "xgboost-cpu", "tf-cpu", "pytorch-xla"]:
        assert family in message
    assert "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-6:latest" in message
    other_version = executors.unknown_image_message("x/sklearn-cpu.9-9:latest")
    assert "1.6, 1.0" in other_version
    assert "Python 3.11" in executors.unknown_image_message("x/tf-cpu.1-15:latest")


def test_prepare_rejects_an_unknown_image(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(tmp_path / "envs", Storage(tmp_path / "buckets"))
    with pytest.raises(InvalidArgument, match="sklearn-cpu"):
        builder.prepare("nginx:latest", [], print)


def test_missing_package_names_its_uri(tmp_path: Path) -> None:
    builder = EnvironmentBuilder(tmp_path / "envs", Storage(tmp_path / "buckets"))
    with pytest.raises(InvalidArgument, match="gs://bkt/missing-0.1.tar.gz was not found"):
        builder.prepare(SKLEARN, ["gs://bkt/missing-0.1.tar.gz"], print)


def test_pip_configuration_becomes_uv_options(tmp_path: Path) -> None:
    listing = (
        f":env:.find-links='{tmp_path}'\n"
        "global.cert='/etc/ssl/certs/ca-certificates.crt'\n"
        f"global.find-links='{tmp_path} /no/such/dir'\n"
        "global.extra-index-url='file:///srv/a/simple file:///srv/b/simple'\n"
    )
    assert uv_source_options(listing) == [
        "--find-links", str(tmp_path),
        "--extra-index-url", "file:///srv/a/simple",
        "--extra-index-url", "file:///srv/b/simple",
        "--index-strategy", "unsafe-best-match",
    ]  # fmt: skip
    assert uv_source_options("") == []


# -- the gs:// shim, without uv: the dist-info on a PYTHONPATH ------------------------------------

SHIM_CHECK = """
import sys
assert "vertexd_gs_shim" not in sys.modules and "fsspec" not in sys.modules
import fsspec, fsspec.core
with fsspec.open("gs://bkt/out/model/m.txt", "w") as f:
    f.write("model")
fs = fsspec.filesystem("gs")
assert fs.cat("gs://bkt/out/model/m.txt") == b"model", fs.cat("gs://bkt/out/model/m.txt")
fs2, path = fsspec.core.url_to_fs("gcs://bkt/out/model/m.txt")
print(type(fs).__name__, type(fs2).__name__, path, fs.unstrip_protocol(path))
"""


def test_shim_maps_gs_to_the_buckets_dir(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    install_gs_shim(venv)
    site = (
        venv / "lib" / f"python{sys.version_info.major}.{sys.version_info.minor}" / "site-packages"
    )
    assert not list(site.glob("*.pth"))  # nothing runs at start-up
    buckets = tmp_path / "buckets"
    env = {**os.environ, "PYTHONPATH": str(site), "VERTEXD_BUCKETS_DIR": str(buckets)}
    run = subprocess.run(
        [sys.executable, "-c", SHIM_CHECK], env=env, capture_output=True, text=True, check=False
    )
    assert run.returncode == 0, run.stderr
    target = buckets / "bkt" / "out" / "model" / "m.txt"
    expected = f"LocalBucketsFileSystem LocalBucketsFileSystem {target} gs://bkt/out/model/m.txt"
    assert run.stdout.split() == expected.split()
    assert target.read_text() == "model"


# -- real environments (uv) ----------------------------------------------------------------------


@pytest.fixture(scope="session")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One uv cache for the session, so that only the first build downloads anything."""
    return tmp_path_factory.mktemp("uv-cache")


def build_example(tmp_path: Path, uv_cache: Path, kind: str = "--sdist", edit: str = "") -> Path:
    """The example trainer built by uv from a copy of its source; `edit` changes its bytes."""
    source = tmp_path / f"src{len(list(tmp_path.glob('src*')))}"
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("*.egg-info", "build"))
    if edit:
        task = source / "trainer" / "task.py"
        task.write_text(task.read_text() + f"\n# {edit}\n")
    out = source / "dist"
    command = [uv_binary(), "build", kind, "--out-dir", str(out), "--cache-dir", str(uv_cache)]
    subprocess.run([*command, *pip_sources(), str(source)], check=True, capture_output=True)
    return next(p for p in out.iterdir() if p.name.endswith((".whl", ".tar.gz")))


def put(package: Path, buckets: Path, folder: str = "pkgs") -> str:
    target = buckets / "bkt" / folder / package.name
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(package, target)
    return f"gs://bkt/{folder}/{package.name}"


def no_uv(*args: Any) -> None:
    raise AssertionError("uv ran for an environment that exists")


def run_trainer(python: Path, buckets: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AIP_MODEL_DIR": "gs://bkt/out/model/",
        "VERTEXD_BUCKETS_DIR": str(buckets),
    }
    command = [str(python), "-m", "trainer.task", "--n-samples", "300", "--epochs", "2"]
    return subprocess.run(command, env=env, capture_output=True, text=True, check=False)


@pytest.mark.slow
def test_sdist_from_a_bucket_builds_once_then_is_reused(
    tmp_path: Path, uv_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    buckets = tmp_path / "buckets"
    uri = put(build_example(tmp_path, uv_cache), buckets)
    builder = EnvironmentBuilder(tmp_path / "envs", Storage(buckets), uv_cache_dir=uv_cache)
    lines: list[str] = []
    first = builder.prepare(SKLEARN, [uri], lines.append)
    assert not first.reused and first.python.exists()
    assert any("uv:" in line and "scikit-learn" in line for line in lines)

    monkeypatch.setattr(builder, "_uv", no_uv)
    again = builder.prepare(SKLEARN, [uri], lines.append)
    assert again == type(first)(first.python, first.key, True)
    assert "reused" in lines[-1]

    run = run_trainer(first.python, buckets)
    assert run.returncode == 0, run.stderr
    assert "test accuracy" in run.stdout
    model_dir = buckets / "bkt" / "out" / "model"
    assert sorted(p.name for p in model_dir.iterdir()) == ["metrics.json", "model.joblib"]


@pytest.mark.slow
def test_changed_bytes_make_a_new_environment_and_cut_builds_are_redone(
    tmp_path: Path, uv_cache: Path
) -> None:
    buckets = tmp_path / "buckets"
    builder = EnvironmentBuilder(tmp_path / "envs", Storage(buckets), uv_cache_dir=uv_cache)
    first = builder.prepare(SKLEARN, [put(build_example(tmp_path, uv_cache), buckets)], print)
    uri = put(build_example(tmp_path, uv_cache, edit="changed"), buckets, "pkgs2")
    changed = builder.prepare(SKLEARN, [uri], print)
    assert changed.key != first.key and not changed.reused

    # A build cut short: no marker, and a temporary folder left behind.
    env_dir = changed.python.parent.parent
    (env_dir / MARKER).unlink()
    leftover = env_dir.parent / f".{env_dir.name}.tmp-999999"
    leftover.mkdir()
    redone = builder.prepare(SKLEARN, [uri], print)
    assert redone.key == changed.key and not redone.reused
    assert (env_dir / MARKER).is_file() and not leftover.exists()


@pytest.mark.slow
def test_a_wheel_works_and_concurrent_prepares_build_once(tmp_path: Path, uv_cache: Path) -> None:
    buckets = tmp_path / "buckets"
    uri = put(build_example(tmp_path, uv_cache, "--wheel"), buckets)
    assert uri.endswith("-py3-none-any.whl")
    builders = [
        EnvironmentBuilder(tmp_path / "envs", Storage(buckets), uv_cache_dir=uv_cache)
        for _ in range(2)
    ]
    results: list[Any] = [None, None]

    def prepare(index: int) -> None:
        results[index] = builders[index].prepare(SKLEARN, [uri], lambda _: None)

    threads = [threading.Thread(target=prepare, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results[0].python == results[1].python
    assert sorted(r.reused for r in results) == [False, True]
    assert len([p for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")]) == 1
    run = run_trainer(results[0].python, buckets)
    assert run.returncode == 0, run.stderr


@pytest.mark.slow
def test_failed_install_reports_uv_output_and_leaves_nothing(
    tmp_path: Path, uv_cache: Path
) -> None:
    buckets = tmp_path / "buckets"
    broken = tmp_path / "broken-0.1.tar.gz"
    broken.write_bytes(b"not a tarball")
    builder = EnvironmentBuilder(tmp_path / "envs", Storage(buckets), uv_cache_dir=uv_cache)
    with pytest.raises(EnvironmentBuildError) as caught:
        builder.prepare(SKLEARN, [put(broken, buckets)], print)
    assert "uv pip install exited with status" in str(caught.value)
    assert "broken" in str(caught.value)
    assert [p.name for p in (tmp_path / "envs").iterdir() if not p.name.startswith(".")] == []
    assert not list((tmp_path / "envs").glob(".*.tmp-*"))


def test_a_package_digest_is_remembered_only_while_the_file_is_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hashlib

    package = tmp_path / "trainer-1.0.tar.gz"
    package.write_bytes(b"a" * 4096)
    settled = (package.stat().st_ctime_ns + digests.SETTLED_NS) / 1e9 + 0.1
    monkeypatch.setattr(digests.time, "time_ns", lambda: int(settled * 1e9))  # (no 2 s wait)
    first = digests.sha256(package)
    assert first == hashlib.sha256(b"a" * 4096).hexdigest()
    assert digests.sha256(package) == first
    # The same size, and the modification time set back: the change is still seen.
    stat = package.stat()
    time.sleep(0.02)  # past the file system's clock tick, as any later upload is
    package.write_bytes(b"b" * 4096)
    os.utime(package, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert digests.sha256(package) == hashlib.sha256(b"b" * 4096).hexdigest()
