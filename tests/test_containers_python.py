"""Python code in containers: pythonPackageSpec on an executor image the engine has, the CLI's
local packages, and `vertexd custom-jobs local-run`."""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from conftest import Server, write_wheel
from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    container_server,
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
    texts,
)

pytestmark = pytest.mark.slow

WRITER = """
import json, os, sys

model_dir = os.environ["AIP_MODEL_DIR"]
print("args", " ".join(sys.argv[1:]), flush=True)
local = model_dir.replace("gs://", "/gcs/")  # Vertex's Cloud Storage FUSE path
os.makedirs(local, exist_ok=True)
with open(local + "via-gcs-path.txt", "w") as out:
    out.write("fuse")
import fsspec  # gs:// itself, through the shim vertexd mounts

with fsspec.open(model_dir + "via-fsspec.txt", "w") as out:
    out.write("shim")
with open(local + "seen.json", "w") as out:
    json.dump({"env": dict(os.environ), "python": sys.executable, "cwd": os.getcwd()}, out)
print("to stderr", file=sys.stderr, flush=True)
sys.exit(int(os.environ.get("EXIT_WITH", "0")))
"""


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, engine_url: str, images: dict[str, str]
) -> Iterator[Server]:
    running = container_server(tmp_path_factory.mktemp("home"), engine_url)
    write_wheel(
        running.home / "buckets" / "test-bucket" / "packages",
        "writer",
        {"writer/__init__.py": "", "writer/task.py": WRITER},
    )
    running.start()
    yield running
    running.stop()


def package_job(image: str, base: str, args: list[str]) -> dict:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": image,
            "packageUris": ["gs://test-bucket/packages/writer-0.1-py3-none-any.whl"],
            "pythonModule": "writer.task",
            "args": args,
        },
    }
    spec = {"workerPoolSpecs": [pool], "baseOutputDirectory": {"outputUriPrefix": base}}
    return {"displayName": "package-in-container", "jobSpec": spec}


def test_python_package_runs_in_its_executor_image(server: Server, images: dict[str, str]) -> None:
    job = package_job(images["python"], "gs://test-bucket/pkg-out", ["--epochs", "2"])
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=180)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    model = server.home / "buckets" / "test-bucket" / "pkg-out" / "model"
    assert (model / "via-gcs-path.txt").read_text() == "fuse"
    assert (model / "via-fsspec.txt").read_text() == "shim"
    seen = json.loads((model / "seen.json").read_text())
    assert seen["python"] == "/usr/bin/python3"  # the image's Python, not the server's
    env = seen["env"]
    assert env["AIP_MODEL_DIR"] == "gs://test-bucket/pkg-out/model/"
    assert json.loads(env["CLUSTER_SPEC"])["task"]["type"] == "workerpool0"
    assert env["CLOUD_ML_JOB_ID"] == name.rsplit("/", 1)[1]
    assert not any(key.startswith("PIP_") for key in env)
    assert "args --epochs 2" in texts(server, name)
    service = " ".join(texts(server, name, "service"))
    assert f"the executor image {images['python']} is on the container engine" in service


def test_local_package_from_the_cli_installs_in_the_container(
    server: Server, images: dict[str, str], tmp_path: Path
) -> None:
    trainer = tmp_path / "trainer_dir"
    (trainer / "trainer").mkdir(parents=True)
    (trainer / "trainer" / "__init__.py").write_text("")
    (trainer / "trainer" / "task.py").write_text("import sys; print('cli trainer', sys.argv[1:])")
    pool = (
        f"machine-type=n1-standard-4,replica-count=1,executor-image-uri={images['python']},"
        f"local-package-path={trainer},python-module=trainer.task"
    )
    done = vertexd(
        "custom-jobs", "create", "--display-name=cli-in-container", f"--worker-pool-spec={pool}",
        "--args=--flag,1", "--stream-logs", f"--endpoint={server.url}",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "cli trainer ['--flag', '1']" in done.stdout


def vertexd(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vertexd", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def built_images(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    """Tags the test builds; removed afterwards."""
    tags: list[str] = []
    yield tags
    for tag in tags:
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass


def test_local_run_builds_and_runs_in_the_foreground(
    engine_url: str,
    docker_client: docker.DockerClient,
    images: dict[str, str],
    tmp_path: Path,
    built_images: list[str],
) -> None:
    code = tmp_path / "code"
    (code / "writer").mkdir(parents=True)
    (code / "writer" / "__init__.py").write_text("")
    (code / "writer" / "task.py").write_text(WRITER)
    write_wheel(code / "dist", "extra", {"extra_mod.py": "VALUE = 42\n"})
    (code / "requirements.txt").write_text("pip\n")  # present already: no index needed
    tag = "vertexd-test/local-run:1"
    built_images.append(tag)
    home = tmp_path / "home"
    done = vertexd(
        "custom-jobs", "local-run", f"--executor-image-uri={images['python']}",
        f"--local-package-path={code}", "--python-module=writer.task",
        "--extra-packages=dist/extra-0.1-py3-none-any.whl", "--requirements=fsspec",
        f"--output-image-uri={tag}", f"--home={home}", f"--container-engine={engine_url}",
        "--base-output-directory=gs://local-bucket/run", "--", "--lr", "0.1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "args --lr 0.1" in done.stdout
    assert "to stderr" in done.stderr
    model = home / "buckets" / "local-bucket" / "run" / "model"
    assert (model / "via-fsspec.txt").read_text() == "shim"
    seen = json.loads((model / "seen.json").read_text())
    assert seen["cwd"] == "/usr/app"
    env = seen["env"]
    assert json.loads(env["TF_CONFIG"])["task"]["type"] == "chief"
    assert env["CLOUD_ML_JOB_ID"].startswith("local-run-")
    assert env["MASTER_ADDR"] == "127.0.0.1" and env["RANK"] == "0"
    check = "import extra_mod; print(extra_mod.VALUE)"
    extra = docker_client.containers.run(tag, entrypoint=["python3", "-c", check], remove=True)
    assert extra.strip() == b"42"


def test_local_run_script_exit_code_and_missing_image(
    engine_url: str, images: dict[str, str], tmp_path: Path, built_images: list[str]
) -> None:
    code = tmp_path / "code"
    code.mkdir()
    (code / "train.py").write_text("import sys; print('script', sys.argv[1:]); sys.exit(5)")
    tag = "vertexd-test/local-run-script:1"
    built_images.append(tag)
    done = vertexd(
        "custom-jobs", "local-run", f"--executor-image-uri={images['python']}",
        f"--local-package-path={code}", "--script=train.py", f"--output-image-uri={tag}",
        f"--home={tmp_path / 'home'}", f"--container-engine={engine_url}", "--", "x",
    )  # fmt: skip
    assert done.returncode == 5, done.stderr
    assert "script ['x']" in done.stdout
    missing = vertexd(
        "custom-jobs", "local-run", "--executor-image-uri=nowhere/python:0",
        f"--local-package-path={code}", "--script=train.py", f"--container-engine={engine_url}",
    )  # fmt: skip
    assert missing.returncode == 1
    assert (
        "ERROR: (vertexd.custom-jobs.local-run) Cannot pull the image nowhere/python:0 from "
        in (missing.stderr)
    )
