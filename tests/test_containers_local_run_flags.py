"""`vertexd custom-jobs local-run` as gcloud's: no code runs the executor image as it is, a
shell script runs with bash, and only the main folder and --extra-dirs go into the image."""

# ruff: noqa: F811 - pytest fixtures imported from container_support are used as arguments

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import docker
import pytest

from container_support import (  # noqa: F401 - fixtures: engine, images, leftover check
    docker_client,
    engine_url,
    images,
    no_leftover_containers,
)

pytestmark = pytest.mark.slow


def vertexd(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "vertexd", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    assert "Traceback" not in done.stderr, done.stderr
    return done


@pytest.fixture
def built_images(docker_client: docker.DockerClient) -> Iterator[list[str]]:
    tags: list[str] = []
    yield tags
    for tag in tags:
        try:
            docker_client.images.remove(tag, force=True)
        except docker.errors.ImageNotFound:
            pass


def test_without_code_the_image_runs_with_its_own_entrypoint(
    engine_url: str, images: dict[str, str], tmp_path: Path
) -> None:
    busybox = images["busybox"]  # ENTRYPOINT ["/bin/echo", "from-entrypoint"], CMD ["from-cmd"]
    home = f"--home={tmp_path / 'home'}"
    engine = f"--container-engine={engine_url}"
    plain = vertexd("custom-jobs", "local-run", f"--executor-image-uri={busybox}", home, engine)
    assert plain.returncode == 0, plain.stderr
    assert plain.stdout == "from-entrypoint from-cmd\n"
    assert "Building" not in plain.stderr
    with_args = vertexd(
        "custom-jobs", "local-run", f"--executor-image-uri={busybox}", home, engine,
        "--requirements=numpy", "--", "a", "b",
    )  # fmt: skip
    assert with_args.returncode == 0, with_args.stderr
    assert with_args.stdout == "from-entrypoint a b\n"  # the arguments replace CMD
    assert (
        "WARNING: --requirements is ignored: without --python-module or --script the executor "
        "image runs as it is." in with_args.stderr
    )
    both = vertexd(
        "custom-jobs", "local-run", f"--executor-image-uri={busybox}", "--script=a.sh",
        "--python-module=a", engine,
    )  # fmt: skip
    assert both.returncode == 2
    assert "At most one of --python-module | --script may be specified." in both.stderr


def test_a_shell_script_runs_with_bash_and_extra_dirs_go_in(
    engine_url: str, images: dict[str, str], tmp_path: Path, built_images: list[str]
) -> None:
    code = tmp_path / "code"
    for folder in ("scripts", "dataset", "config", "unlisted"):
        (code / folder).mkdir(parents=True)
    (code / "dataset" / "small.dat").write_text("small")
    (code / "config" / "c.txt").write_text("conf")
    (code / "unlisted" / "big.dat").write_text("big")
    (code / "scripts" / "run.sh").write_text(
        'echo "bash $BASH_VERSION" | cut -c1-6\necho "args $*"\n'
        "ls /usr/app | tr '\\n' ' '; echo\ncat dataset/small.dat; echo\nexit 4\n"
    )
    tag = "vertexd-test/local-run-bash:1"
    built_images.append(tag)
    done = vertexd(
        "custom-jobs", "local-run", f"--executor-image-uri={images['python']}",
        f"--local-package-path={code}", "--script=scripts/run.sh", "--extra-dirs=dataset,config",
        f"--output-image-uri={tag}", f"--home={tmp_path / 'home'}",
        f"--container-engine={engine_url}", "--", "x", "y",
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:4] == ["bash 5", "args x y", "config dataset scripts ", "small"]
    missing = vertexd(
        "custom-jobs", "local-run", f"--executor-image-uri={images['python']}",
        f"--local-package-path={code}", "--script=scripts/run.sh", "--extra-dirs=nowhere",
        f"--container-engine={engine_url}",
    )  # fmt: skip
    assert missing.returncode == 1
    assert (
        "ERROR: (vertexd.custom-jobs.local-run) Invalid value for [--extra-dirs]: Directory "
        "'nowhere' is not found under the package" in missing.stderr
    )
