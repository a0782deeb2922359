"""The `vertexd` command as a user runs it: a subprocess against a real `vertexd serve`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
import yaml

from conftest import SKLEARN, Server, free_port

pytestmark = pytest.mark.slow

TRAINER = """\
import os
import sys
import time

print("hello from the trainer", " ".join(sys.argv[1:]))
print("a warning on stderr", file=sys.stderr)
print("model dir is", os.environ.get("AIP_MODEL_DIR", ""))
if "--sleep" in sys.argv:
    time.sleep(120)
if "--fail" in sys.argv:
    sys.exit(3)
"""


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without VERTEXD_* and CLOUDSDK_* settings, plus `extra`."""
    kept = {k: v for k, v in os.environ.items() if not k.startswith(("VERTEXD_", "CLOUDSDK_"))}
    return {**kept, **extra}


def vertexd(
    *args: str, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run the CLI as a user would; it must never print a traceback."""
    done = subprocess.run(
        [sys.executable, "-m", "vertexd", *args],
        capture_output=True,
        text=True,
        env=clean_env(**(env or {})),
        timeout=timeout,
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def at(server: Server, *args: str) -> list[str]:
    return [*args, "--endpoint", server.url, "--project", "cli-project"]


@pytest.fixture(scope="module")
def trainer_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("trainer-app")
    (directory / "trainer").mkdir()
    (directory / "trainer" / "task.py").write_text(TRAINER)
    return directory


def local_pool(trainer_dir: Path) -> str:
    return (
        f"--worker-pool-spec=machine-type=n1-standard-4,replica-count=1,"
        f"executor-image-uri={SKLEARN},local-package-path={trainer_dir},script=trainer/task.py"
    )


def created_name(stderr: str) -> str:
    line = next(line for line in stderr.splitlines() if "is submitted successfully." in line)
    return line.split("[", 1)[1].split("]", 1)[0]


def test_create_from_flags_streams_logs_to_success(server: Server, trainer_dir: Path) -> None:
    config = {"baseOutputDirectory": {"outputUriPrefix": "gs://cli-bucket/run1"}}
    config_file = trainer_dir.parent / "base.yaml"
    config_file.write_text(yaml.safe_dump(config))
    done = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=cli-success", local_pool(trainer_dir)),
        f"--config={config_file}",
        "--args=--epochs=2,--lr=0.1",
        "--labels=team=ml",
        "--stream-logs",
        "--polling-interval=0.2",
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    hello = next(line for line in lines if "hello from the trainer" in line)
    severity, stamp, task, message = hello.split("\t")
    assert (severity, task) == ("INFO", "workerpool0-0")
    assert message == "hello from the trainer --epochs=2 --lr=0.1"
    assert any(line.startswith("ERROR\t") and "a warning on stderr" in line for line in lines)
    assert any(line.endswith("model dir is gs://cli-bucket/run1/model/") for line in lines)
    assert "Staged the package built from [" in done.stderr
    assert "ended with state JOB_STATE_SUCCEEDED." in done.stderr
    assert "Model directory: gs://cli-bucket/run1/model/" in done.stderr

    name = created_name(done.stderr)
    job = server.get(name)
    assert name.startswith("projects/cli-project/locations/us-central1/customJobs/")
    assert job["labels"] == {"team": "ml"}
    package = job["jobSpec"]["workerPoolSpecs"][0]["pythonPackageSpec"]
    assert package["pythonModule"] == "trainer.task"
    assert package["packageUris"][0].startswith("gs://vertexd-staging/packages/")
    staged = server.home / "buckets" / package["packageUris"][0].removeprefix("gs://")
    assert staged.is_file()


def test_a_failing_job_fails_the_command(server: Server, trainer_dir: Path) -> None:
    done = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=cli-fail", local_pool(trainer_dir)),
        "--args=--fail",
        "--stream-logs",
        "--polling-interval=0.2",
    )
    assert done.returncode == 1
    assert "ended with state JOB_STATE_FAILED." in done.stderr
    assert "ERROR: (vertexd.custom-jobs.create) CustomJob [projects/" in done.stderr
    assert "did not succeed (JOB_STATE_FAILED)" in done.stderr


def test_submit_describe_list_stream_and_cancel(server: Server, trainer_dir: Path) -> None:
    done = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=cli-sleeper", local_pool(trainer_dir)),
        "--args=--sleep",
    )
    assert done.returncode == 0, done.stderr
    name = created_name(done.stderr)
    assert f"$ vertexd custom-jobs describe {name}" in done.stderr
    assert f"$ vertexd custom-jobs stream-logs {name}" in done.stderr
    job_id = name.rsplit("/", 1)[1]

    described = vertexd(*at(server, "custom-jobs", "describe", job_id))
    assert described.returncode == 0, described.stderr
    job = yaml.safe_load(described.stdout)
    assert job["name"] == name and job["displayName"] == "cli-sleeper"
    as_json = vertexd(*at(server, "custom-jobs", "describe", name, "--format=json"))
    assert json.loads(as_json.stdout)["name"] == name

    listed = vertexd(*at(server, "custom-jobs", "list"))
    assert listed.returncode == 0, listed.stderr
    header = listed.stdout.splitlines()[0].split()
    assert header == ["ID", "DISPLAY_NAME", "STATE", "CREATE_TIME"]
    row = next(line for line in listed.stdout.splitlines() if job_id in line)
    assert "cli-sleeper" in row
    filtered = vertexd(
        *at(server, "custom-jobs", "list", "--filter=display_name=cli-sleeper", "--format=json")
    )
    assert [j["name"] for j in json.loads(filtered.stdout)] == [name]
    newest = vertexd(*at(server, "custom-jobs", "list", "--sort-by=~createTime", "--limit=1"))
    assert job_id in newest.stdout
    assert len([line for line in newest.stdout.splitlines() if "JOB_STATE" in line]) == 1

    server.wait_for(name, "JOB_STATE_RUNNING")
    streaming = subprocess.Popen(
        [sys.executable, "-m", "vertexd", *at(server, "custom-jobs", "stream-logs", job_id)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    cancelled = vertexd(*at(server, "custom-jobs", "cancel", job_id))
    assert cancelled.returncode == 0, cancelled.stderr
    assert f"Request to cancel CustomJob [{name}] has been sent." in cancelled.stderr
    out, err = streaming.communicate(timeout=120)
    assert streaming.returncode == 0, err
    assert "hello from the trainer --sleep" in out
    assert server.get(name)["state"] == "JOB_STATE_CANCELLED"


def test_container_pools_from_a_config_file(server: Server, tmp_path: Path) -> None:
    config = {
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": 1,
                "containerSpec": {"imageUri": "local/busybox:1", "command": ["echo"]},
            }
        ]
    }
    config_file = tmp_path / "job.yaml"
    config_file.write_text(yaml.safe_dump(config))
    done = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=cli-container"),
        f"--config={config_file}",
        "--args=hi",
    )
    if done.returncode == 0:
        assert "is submitted successfully." in done.stderr
        job = server.get(created_name(done.stderr))
        container = job["jobSpec"]["workerPoolSpecs"][0]["containerSpec"]
        assert container == {"imageUri": "local/busybox:1", "command": ["echo"], "args": ["hi"]}
    else:
        assert done.returncode == 1
        assert done.stderr.startswith("ERROR: (vertexd.custom-jobs.create) FAILED_PRECONDITION: ")


def test_errors_are_one_gcloud_shaped_line(server: Server, tmp_path: Path) -> None:
    pool = f"machine-type=n1-standard-4,replica-count=2,executor-image-uri={SKLEARN}"
    invalid = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=x"),
        f"--worker-pool-spec={pool},python-module=trainer.task",
        "--python-package-uris=gs://cli-bucket/none.tar.gz",
    )
    assert invalid.returncode == 1
    assert invalid.stderr.startswith("ERROR: (vertexd.custom-jobs.create) INVALID_ARGUMENT: ")

    missing = vertexd(*at(server, "custom-jobs", "describe", "12345"))
    assert missing.returncode == 1
    assert missing.stderr.startswith("ERROR: (vertexd.custom-jobs.describe) NOT_FOUND: ")

    flags = vertexd(
        *at(server, "custom-jobs", "create", "--display-name=x"),
        "--worker-pool-spec=machine-type=m,container-image-uri=i,python-module=p",
    )
    assert flags.returncode == 1
    assert flags.stderr.strip() == (
        "ERROR: (vertexd.custom-jobs.create) Invalid value for [--worker-pool-spec]: "
        "Key [python-module] is not allowed together with key [container-image-uri]."
    )

    nobody = f"http://127.0.0.1:{free_port()}"
    unreachable = vertexd("custom-jobs", "list", "--endpoint", nobody, "--home", str(tmp_path))
    assert unreachable.returncode == 1
    assert unreachable.stderr.startswith(
        f"ERROR: (vertexd.custom-jobs.list) No vertexd server answers at {nobody}"
    )
    assert not (tmp_path / "server.json").exists()


def test_a_server_is_started_when_none_is_running(tmp_path: Path) -> None:
    home = tmp_path / "home"
    first = vertexd("custom-jobs", "list", env={"VERTEXD_HOME": str(home)})
    record = json.loads((home / "server.json").read_text())
    try:
        assert first.returncode == 0, first.stderr + (home / "server.log").read_text()
        endpoint = record["endpoint"]
        assert first.stderr.splitlines()[0] == (
            f"Started a vertexd server in the background at {endpoint} "
            f"(home: {home}, log: {home / 'server.log'})."
        )
        assert "Listed 0 items." in first.stderr
        assert httpx.get(f"{endpoint}/healthz").json()["status"] == "ok"

        again = vertexd("custom-jobs", "list", "--home", str(home))
        assert again.returncode == 0, again.stderr
        assert "Started a vertexd server" not in again.stderr
        assert json.loads((home / "server.json").read_text())["pid"] == record["pid"]
    finally:
        os.kill(record["pid"], signal.SIGTERM)
        psutil.Process(record["pid"]).wait(timeout=60)


def test_serve_flags_override_the_environment(tmp_path: Path) -> None:
    port = free_port()
    env = clean_env(VERTEXD_PORT="1", VERTEXD_HOME=str(tmp_path / "env-home"))
    command = [sys.executable, "-m", "vertexd", "serve", "--port", str(port)]
    server = subprocess.Popen(
        [*command, "--home", str(tmp_path / "flag-home")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
                break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            raise AssertionError("vertexd serve did not answer")
        assert answer["status"] == "ok"
        record = json.loads((tmp_path / "flag-home" / "server.json").read_text())
        assert record == {"endpoint": f"http://127.0.0.1:{port}", "pid": server.pid}
    finally:
        server.terminate()
        server.wait(timeout=60)
