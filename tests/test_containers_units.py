"""The container backend's pure parts, without an engine: plans, create arguments, routing,
log frames, the local-run recipe."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from vertexd.backends.base import Handle, LaunchError, ReplicaStatus, Reservation
from vertexd.backends.container.backend import container_name, container_spec
from vertexd.backends.container.engine import ContainerSpec, create_kwargs
from vertexd.backends.container.logcopy import _Lines, parse_stamp, split_frame
from vertexd.backends.handles import (
    ContainerHandle,
    ContainerReplica,
    LocalHandle,
    LocalReplica,
    dump_handle,
    load_handle,
)
from vertexd.backends.routing import RoutingBackend
from vertexd.cli.local_run_image import Recipe, dockerfile
from vertexd.launch.environments import EnvironmentBuilder
from vertexd.launch.in_container import ContainerLaunch
from vertexd.launch.plan import LaunchPlan, Mount, ReplicaPlan, Resources
from vertexd.launch.prepare import Preparer
from vertexd.storage import Storage


@dataclass
class EngineHolding:
    """Stands for an engine that holds these images (their ENV), with no GPU runtime."""

    envs: dict[str, dict[str, str]]
    gpus: bool = False

    def image_env(self, image: str) -> dict[str, str] | None:
        return self.envs.get(image)

    def ensure_image(self, image: str, log: Callable[[str], None], should_stop: object) -> None:
        assert image in self.envs, f"the plan asked for an image the engine lacks: {image}"


def preparer(
    tmp_path: Path, image_env: dict[str, dict[str, str]], gpus_here: int = 0, engine_gpus=False
) -> Preparer:
    storage = Storage(tmp_path / "buckets")
    builder = EnvironmentBuilder(tmp_path / "envs", storage)
    extra = {"VERTEXD_BUCKETS_DIR": str(tmp_path / "buckets")}
    engine = EngineHolding(image_env, engine_gpus)
    return Preparer(tmp_path / "jobs", builder, extra, engine, Resources(64, 1000, gpus_here))


def reserve(job_id: str, tasks: list[tuple[str, Resources]]) -> Reservation:
    return Reservation(tuple(f"127.0.0.1:{9000 + i}" for i in range(len(tasks))), {})


def container_pool(**container: Any) -> dict[str, Any]:
    machine = {"machineType": "n1-standard-4", "acceleratorType": "NVIDIA_TESLA_T4"}
    return {
        "machineSpec": {**machine, "acceleratorCount": 2},
        "replicaCount": "1",
        "containerSpec": {"imageUri": "img:1", **container},
    }


def test_container_replica_plan(tmp_path: Path) -> None:
    spec = {
        "workerPoolSpecs": [container_pool(args=["a"], env=[{"name": "K", "value": "v"}])],
        "baseOutputDirectory": {"outputUriPrefix": "gs://b/out"},
    }
    prep = preparer(tmp_path, {"img:1": {"PYTHONPATH": "/app"}}, gpus_here=4, engine_gpus=True)
    plan = prep.prepare("42", spec, 1, print, reserve, trial_id="7")
    (replica,) = plan.replicas
    assert replica.image == "img:1" and replica.entrypoint is None and replica.cmd == ("a",)
    env = replica.env
    assert env["K"] == "v" and env["AIP_MODEL_DIR"] == "gs://b/out/7/model/"
    assert env["VERTEXD_BUCKETS_DIR"] == "/gcs"
    assert env["PYTHONPATH"] == "/opt/vertexd/gs-shim:/app"  # the image's own path kept
    assert env["CLOUD_ML_HP_METRIC_FILE"] == "/tmp/hypertune/output.metrics"
    targets = {m.target: m for m in replica.mounts}
    assert targets["/gcs"].source == tmp_path / "buckets" and not targets["/gcs"].read_only
    assert targets["/opt/vertexd/gs-shim"].read_only
    assert (targets["/opt/vertexd/gs-shim"].source / "vertexd_gs_shim.py").is_file()
    assert targets["/tmp/hypertune"].source == plan.run_dir / "workerpool0-0" / "hypertune"
    assert replica.resources.gpus == 2


@pytest.mark.parametrize(
    ("gpus_here", "engine_gpus", "why"),
    [(0, False, "this machine has none"), (4, False, "the container engine has no GPU runtime")],
)
def test_gpus_that_cannot_be_had_are_left_out_with_a_warning(
    tmp_path: Path, gpus_here: int, engine_gpus: bool, why: str
) -> None:
    spec = {"workerPoolSpecs": [container_pool()]}
    said: list[str] = []
    prep = preparer(tmp_path, {"img:1": {}}, gpus_here, engine_gpus)
    (replica,) = prep.prepare("42", spec, 1, said.append, reserve).replicas
    assert replica.resources.gpus == 0 and replica.resources.accelerator_type == ""
    assert replica.resources.cpus == 4  # the rest of the machine type stays
    (warning,) = [line for line in said if line.startswith("WARNING")]
    assert "workerpool0 asks for 2 x NVIDIA_TESLA_T4 per replica" in warning and why in warning


def test_executor_image_missing_from_the_engine_takes_the_local_path(tmp_path: Path) -> None:
    launch = ContainerLaunch(lambda image: None, Storage(tmp_path / "b"), tmp_path, shim=True)
    said: list[str] = []
    assert launch.executor(0, "exec:1", [], tmp_path / "staging", said.append) is None
    assert "is not on the container engine" in said[0]


def test_executor_image_on_the_engine_stages_packages(tmp_path: Path) -> None:
    package = tmp_path / "buckets" / "b" / "p-0.1.tar.gz"
    package.parent.mkdir(parents=True)
    package.write_bytes(b"sdist")
    launch = ContainerLaunch(lambda image: {}, Storage(tmp_path / "buckets"), tmp_path, shim=True)
    said: list[str] = []
    found = launch.executor(1, "exec:1", ["gs://b/p-0.1.tar.gz"], tmp_path / "st", said.append)
    assert found is not None and (found.packages / "p-0.1.tar.gz").read_bytes() == b"sdist"
    assert "workerpool1" in said[0] and "is on the container engine" in said[0]
    base = ReplicaPlan("workerpool1-0", (), {}, tmp_path, Resources())
    replica = launch.python_replica(base, found, "trainer.task", ["--x", "1"])
    assert replica.image == "exec:1" and replica.argv == ()
    assert replica.entrypoint is not None and replica.entrypoint[:2] == ("sh", "-c")
    assert replica.cmd == ("trainer.task", "--x", "1")
    assert Mount(found.packages, "/vertexd/packages", read_only=True) in replica.mounts


def test_create_arguments() -> None:
    plan = LaunchPlan("123", Path("/r"), Path("/r/log"), ())
    replica = ReplicaPlan(
        "workerpool0-0",
        (),
        {"A": "1"},
        Path("/w"),
        Resources(gpus=2),
        image="img:1",
        entrypoint=("/bin/echo",),
        cmd=(),
        mounts=(Mount(Path("/host"), "/gcs"),),
    )
    spec = container_spec(plan, replica, "/home/me/.vertexd")
    kwargs = create_kwargs(spec)
    assert kwargs["entrypoint"] == ["/bin/echo"] and kwargs["command"] == []
    assert kwargs["environment"] == {"A": "1"}
    assert kwargs["labels"] == {
        "vertexd.home": "/home/me/.vertexd",
        "vertexd.job": "123",
        "vertexd.task": "workerpool0-0",
    }
    assert kwargs["network_mode"] == "host" and kwargs["init"] is True
    (request,) = kwargs["device_requests"]
    assert request["Count"] == 2 and request["Capabilities"] == [["gpu"]]
    (mount,) = kwargs["mounts"]
    assert mount["Source"] == "/host" and mount["Target"] == "/gcs" and mount["Type"] == "bind"
    keep = create_kwargs(ContainerSpec("n", "img", None, None, {}, {}))
    assert keep["entrypoint"] is None and keep["command"] is None
    assert "device_requests" not in keep


def test_container_names_are_valid_and_unique_per_home() -> None:
    first = container_name("/a", "1-trial/2", "workerpool0-0")
    assert first.startswith("vertexd-1-trial-2-workerpool0-0-")
    assert first != container_name("/b", "1-trial/2", "workerpool0-0")


def test_frames_and_stamps() -> None:
    at, text = split_frame(b"2026-11-25T17:07:00.606241108Z hello world\n")
    assert at == datetime(2026, 11, 25, 17, 7, 0, 606241, tzinfo=UTC)
    assert text == "hello world\n"
    assert split_frame(b"no stamp here") == (None, "no stamp here")
    assert parse_stamp("2026-11-25T17:07:00Z") == datetime(2026, 11, 25, 17, 7, tzinfo=UTC)
    assert parse_stamp("2026-11-25T17:07:00.5+01:00") is None


def frames(*items: tuple[int, str]) -> list[bytes]:
    return [f"2026-01-01T00:00:00.{micros:06d}Z {text}".encode() for micros, text in items]


def test_lines_join_parts_and_skip_what_was_copied(tmp_path: Path) -> None:
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    lines = _Lines(fd, "t", "stdout", None)
    # A long line comes in parts that share one time; the follow stream stopped after one.
    lines.feed(frames((1, "first\n"), (2, "long-")))
    lines.feed(frames((1, "first\n"), (2, "long-"), (2, "line\n"), (3, "tail")))
    lines.flush()
    os.close(fd)
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [e["text"] for e in written] == ["first", "long-line", "tail"]
    assert written[1]["time"] == "2026-01-01T00:00:00.000002Z"


def test_resumed_lines_skip_everything_up_to_the_cursor(tmp_path: Path) -> None:
    path = tmp_path / "log"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    cursor = datetime(2026, 1, 1, tzinfo=UTC).replace(microsecond=2)
    lines = _Lines(fd, "t", "stdout", cursor)
    lines.feed(frames((1, "old\n"), (2, "old too\n"), (3, "new\n")))
    os.close(fd)
    assert [json.loads(line)["text"] for line in path.read_text().splitlines()] == ["new"]


@dataclass
class FakeBackend:
    name: str
    fail: bool = False
    runs_images: bool = False
    calls: list[str] = field(default_factory=list)

    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        return Reservation(tuple(f"{self.name}:{i}" for i in range(len(replicas))))

    def release(self, reservation: Reservation) -> None:
        self.calls.append("release")

    def submit(self, plan: LaunchPlan) -> Handle:
        """A handle of this fake's kind ("local" or "container"), as a real backend's."""
        if self.fail:
            raise LaunchError(f"{self.name} cannot")
        self.calls.append("submit " + ",".join(r.task_name for r in plan.replicas))
        tasks = [r.task_name for r in plan.replicas]
        if self.runs_images:
            return ContainerHandle(
                replicas=tuple(ContainerReplica(task=t, container=t, name=t, log="") for t in tasks)
            )
        return LocalHandle(
            replicas=tuple(
                LocalReplica(task=t, pid=0, start_time=None, exit_file="") for t in tasks
            )
        )

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        assert isinstance(handle, LocalHandle | ContainerHandle)
        return [ReplicaStatus(r.task, True, detail=self.name) for r in handle.replicas]

    def watch(self, handle: Handle, changed: Callable[[], None]) -> None:
        return None

    def stop(self, handle: Handle, force: bool) -> None:
        self.calls.append(f"stop {force}")

    def cleanup(self, handle: Handle) -> None:
        self.calls.append("cleanup")


def mixed_plan() -> LaunchPlan:
    def replica(task: str, image: str | None) -> ReplicaPlan:
        return ReplicaPlan(task, (), {}, Path("/w"), Resources(), image=image)

    tasks = [
        replica("workerpool0-0", "img"),
        replica("workerpool1-0", None),
        replica("workerpool1-1", None),
        replica("workerpool2-0", "img"),
    ]
    return LaunchPlan("1", Path("/r"), Path("/r/log"), tuple(tasks))


def test_routing_splits_by_image_and_merges_in_plan_order() -> None:
    local, engine = FakeBackend("local"), FakeBackend("container", runs_images=True)
    router = RoutingBackend(local, engine)
    assert router.runs_images and router.name == "local+container"
    submitted = router.submit(mixed_plan())
    handle = load_handle(json.loads(json.dumps(dump_handle(submitted))))  # as saved in the store
    assert handle == submitted and handle.label == "local+container"
    assert local.calls == ["submit workerpool1-0,workerpool1-1"]
    assert engine.calls == ["submit workerpool0-0,workerpool2-0"]
    statuses = router.poll(handle)
    assert [(s.task_name, s.detail) for s in statuses] == [
        ("workerpool0-0", "container"),
        ("workerpool1-0", "local"),
        ("workerpool1-1", "local"),
        ("workerpool2-0", "container"),
    ]
    router.stop(handle, force=True)
    router.cleanup(handle)
    assert local.calls[1:] == engine.calls[1:] == ["stop True", "cleanup"]


def test_routing_cleans_up_what_started_when_a_part_fails() -> None:
    local, engine = FakeBackend("local"), FakeBackend("container", fail=True)
    with pytest.raises(LaunchError, match="container cannot"):
        RoutingBackend(local, engine).submit(mixed_plan())
    assert local.calls == ["submit workerpool1-0,workerpool1-1", "cleanup"]


def test_routing_reads_handles_of_a_plain_backend_and_lost_engines() -> None:
    local = FakeBackend("local")
    router = RoutingBackend(local, FakeBackend("container", runs_images=True))
    plain = LocalHandle(
        replicas=(LocalReplica(task="workerpool0-0", pid=0, start_time=None, exit_file=""),)
    )
    assert [s.task_name for s in router.poll(plain)] == ["workerpool0-0"]
    handle = router.submit(mixed_plan())
    statuses = RoutingBackend(local, None).poll(handle)
    assert statuses[0].lost and "no container engine" in statuses[0].detail
    assert statuses[1].running


def test_local_run_dockerfile(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("numpy\n")
    (tmp_path / "setup.py").write_text("")
    recipe = Recipe("exec:1", tmp_path, "trainer.task", None, ["pandas>=2"], [])
    text = dockerfile(recipe, ["extra-1.whl"])
    assert text.startswith("FROM exec:1\nWORKDIR /usr/app\n")
    assert "-r /vertexd/requirements.txt" in text and '"pandas>=2"' in text
    assert "/vertexd/extra-packages/extra-1.whl" in text
    assert "pip install --no-cache-dir --no-warn-script-location /usr/app" in text
    assert text.endswith('ENTRYPOINT ["python3", "-m", "trainer.task"]\nCMD []\n')
    script = dockerfile(Recipe("exec:1", tmp_path, None, "train.py", [], []), [])
    assert 'ENTRYPOINT ["python3", "train.py"]' in script
    shell = dockerfile(Recipe("exec:1", tmp_path, None, "bin/run.sh", [], []), [])
    assert 'ENTRYPOINT ["/bin/bash", "bin/run.sh"]' in shell  # gcloud: not .py, bash runs it


def test_routing_handles_name_the_backends_that_ran_them() -> None:
    router = RoutingBackend(FakeBackend("local"), FakeBackend("container", runs_images=True))
    plan = mixed_plan()
    workers = router.submit(replace(plan, replicas=plan.replicas[1:3]))
    assert workers.label == "local"  # "Started 2 replica(s) on the local backend."
    assert router.submit(replace(plan, replicas=plan.replicas[:1])).label == "container"
    assert router.name == "local+container"  # the router's own name never changes
