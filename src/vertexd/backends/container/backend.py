"""Replicas as containers on a container engine (Docker or Podman, through the Docker API).

A replica is one container with the plan's image, ENTRYPOINT/CMD overrides, environment,
mounts and GPU requests, on the host's network (so the `127.0.0.1:port` addresses in the
replicas' cluster environment work across containers and local processes alike). Every
container is labelled with this server's home, the job and the task, and named after them.

No job state is kept here: the handle (saved in the store) holds the container ids, and the
engine is asked for the rest. What lives in memory are the log copies (one thread per
stream); a restarted server starts them again from where the job log ends.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from vertexd.backends.base import Handle, LaunchError, ReplicaStatus, Reservation, Unwatch
from vertexd.backends.container.discovery import Search
from vertexd.backends.container.engine import ContainerSpec, Engine, EngineError
from vertexd.backends.container.logcopy import LogCopy
from vertexd.backends.container.pulls import ImagePuller, Policy, PullFailed
from vertexd.backends.handles import ContainerHandle, ContainerReplica
from vertexd.backends.local import local_addresses
from vertexd.core.joblog import append_service_line
from vertexd.launch.environments import StopRequested, never
from vertexd.launch.plan import LaunchPlan, ReplicaPlan, Resources

log = logging.getLogger(__name__)

HOME_LABEL, JOB_LABEL, TASK_LABEL = "vertexd.home", "vertexd.job", "vertexd.task"
CHECK_SECONDS = 5.0  # while output still flows, how often to ask the engine anyway
DRAIN_SECONDS = 5.0  # after the container exited: how long its output may still trickle in
END_WAIT_SECONDS = 5.0  # at cleanup: how long to wait for the last lines
OUT_OF_MEMORY = "it ran out of memory, and the engine killed it (OOMKilled)"


@dataclass
class _Copy:
    logs: LogCopy
    checked_at: float = field(default_factory=time.monotonic)
    exited_at: float | None = None


class ContainerBackend:
    name = "container"
    runs_images = True

    def __init__(
        self, engine: Engine, home: Path, pull: Policy = "missing", limits: bool = False
    ) -> None:
        self.engine = engine
        self.home = str(home)
        self.puller = ImagePuller(engine, pull)
        self.limits = limits  # cap each container at its machine type's vCPUs and memory
        self.gpus = False  # whether the engine can give containers GPUs (asked at connect)
        self.described = f"the container engine at {engine.url}"  # for the jobs' logs
        self._copies: dict[str, _Copy] = {}  # container id -> the copy of its output
        self._ended: dict[str, ReplicaStatus] = {}  # container id -> how it ended

    @classmethod
    def connect(
        cls, found: Search, home: Path, pull: Policy = "missing", limits: bool = False
    ) -> ContainerBackend:
        """A backend on the engine found; one named that does not answer yet is only
        reported (its jobs fail until it answers)."""
        assert found.url is not None
        backend = cls(Engine(found.url), home, pull, limits)
        try:
            described = backend.engine.describe()
            backend.gpus = backend.engine.has_gpu_runtime()
            backend.described = f"{described} at {found.url}"
        except EngineError as exc:
            log.warning("%s; container replicas fail until it answers.", exc)
            return backend
        gpus = "with" if backend.gpus else "without"
        log.info(
            "container engine: %s at %s (%s), %s a GPU runtime; image pull policy %s%s",
            described,
            found.url,
            found.source,
            gpus,
            pull,
            "; containers limited to their machine types" if limits else "",
        )
        return backend

    # -- images ------------------------------------------------------------------------------
    def image_env(self, image: str) -> dict[str, str] | None:
        """The image's own ENV, or None when the engine lacks it (or cannot be reached)."""
        try:
            return self.engine.image_env(image)
        except EngineError as exc:
            log.warning("%s", exc)
            return None

    def has_image(self, image: str) -> bool:
        return self.image_env(image) is not None

    def ensure_image(
        self, image: str, log: Callable[[str], None], should_stop: StopRequested = never
    ) -> None:
        """Pull `image` if the pull policy asks for it; LaunchError says why one failed."""
        try:
            self.puller.ensure(image, log, should_stop)
        except PullFailed as exc:
            raise LaunchError(str(exc)) from exc

    # -- the Backend protocol ----------------------------------------------------------------
    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        return local_addresses(len(replicas))

    def release(self, reservation: Reservation) -> None:
        pass

    def submit(self, plan: LaunchPlan) -> Handle:
        started: list[ContainerReplica] = []
        try:
            for replica in plan.replicas:
                started.append(self._start(plan, replica))
        except (EngineError, LaunchError) as exc:
            self.cleanup(ContainerHandle(replicas=tuple(started)))
            raise LaunchError(str(exc)) from exc
        return ContainerHandle(replicas=tuple(started))

    def _start(self, plan: LaunchPlan, replica: ReplicaPlan) -> ContainerReplica:
        spec = container_spec(plan, replica, self.home, self.limits)
        self.engine.remove(spec.name)  # a leftover of an earlier attempt that was cut short
        container_id = self.engine.create(spec)
        entry = ContainerReplica(
            task=replica.task_name, container=container_id, name=spec.name, log=str(plan.log_path)
        )
        try:
            self.engine.start(container_id)
        except EngineError as exc:
            self.engine.remove(container_id)
            if spec.gpus:
                raise EngineError(
                    f"{exc} (the replica asks for {spec.gpus} GPU(s): the engine needs a GPU "
                    "runtime, such as the NVIDIA Container Toolkit, and a GPU)"
                ) from exc
            raise
        self._copies[container_id] = _Copy(
            LogCopy(self.engine, container_id, replica.task_name, plan.log_path, resume=False)
        )
        append_service_line(
            plan.log_path,
            f"{replica.task_name}: container {spec.name} of {spec.image} on {self.described}.",
        )
        return entry

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        return [self._status(replica) for replica in _own(handle).replicas]

    def watch(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        return None  # polled: poll() also paces the log copies' end

    def _status(self, replica: ContainerReplica) -> ReplicaStatus:
        container_id, task = replica.container, replica.task
        if container_id in self._ended:
            return self._ended[container_id]
        copy = self._copies.get(container_id)
        now = time.monotonic()
        if copy is not None and not copy.logs.done and now - copy.checked_at < CHECK_SECONDS:
            return ReplicaStatus(task, True)  # output still flows: nothing to ask the engine
        try:
            state = self.engine.state(container_id)
        except EngineError as exc:
            return self._end(container_id, ReplicaStatus(task, False, lost=True, detail=str(exc)))
        if state is None:
            gone = f"its container {replica.name} was removed outside vertexd"
            return self._end(container_id, ReplicaStatus(task, False, lost=True, detail=gone))
        if copy is None or (copy.logs.done and state.running):
            # A restarted server, or the engine cut the stream of a running container.
            logs = LogCopy(self.engine, container_id, task, Path(replica.log), resume=True)
            self._copies[container_id] = _Copy(logs)
            return ReplicaStatus(task, True)
        copy.checked_at = now
        if state.running:
            return ReplicaStatus(task, True)
        copy.exited_at = copy.exited_at or now
        if not copy.logs.done and now - copy.exited_at < DRAIN_SECONDS:
            return ReplicaStatus(task, True)  # the last lines are on their way
        detail = OUT_OF_MEMORY if state.oom_killed else state.error
        return self._end(container_id, ReplicaStatus(task, False, state.exit_code, detail=detail))

    def _end(self, container_id: str, status: ReplicaStatus) -> ReplicaStatus:
        self._ended[container_id] = status
        return status

    def stop(self, handle: Handle, force: bool) -> None:
        for replica in _own(handle).replicas:
            try:
                self.engine.signal(replica.container, "SIGKILL" if force else "SIGTERM")
            except EngineError as exc:
                log.warning("could not stop %s: %s", replica.name, exc)

    def cleanup(self, handle: Handle) -> None:
        """Kill what still runs, let the last lines reach the log, remove the containers."""
        self.stop(handle, force=True)
        for replica in _own(handle).replicas:
            container_id = replica.container
            copy = self._copies.pop(container_id, None)
            if copy is not None:
                copy.logs.wait(END_WAIT_SECONDS)
            self._ended.pop(container_id, None)
            try:
                self.engine.remove(container_id)
            except EngineError as exc:
                log.warning("could not remove %s: %s", replica.name, exc)

    # -- recovery ------------------------------------------------------------------------------
    def sweep(self, active_jobs: set[str]) -> list[str]:
        """Remove this server's containers (by their home label) whose job label names no
        active job; returns their names. Called once at start, after the jobs that still run
        were reattached."""
        removed = []
        try:
            for container_id, name, labels in self.engine.containers({HOME_LABEL: self.home}):
                if labels.get(JOB_LABEL) not in active_jobs:
                    self.engine.remove(container_id)
                    removed.append(name)
        except EngineError as exc:
            log.warning("could not look for containers left by an earlier server: %s", exc)
        if removed:
            log.info("removed containers that no active job holds: %s", ", ".join(removed))
        return removed


def _own(handle: Handle) -> ContainerHandle:
    if not isinstance(handle, ContainerHandle):
        raise TypeError(f"not a container handle: {handle.kind}")
    return handle


def container_spec(
    plan: LaunchPlan, replica: ReplicaPlan, home: str, limits: bool = False
) -> ContainerSpec:
    if replica.image is None:
        raise LaunchError(f"The replica {replica.task_name} has no image: not a container.")
    return ContainerSpec(
        name=container_name(home, plan.job_id, replica.task_name),
        image=replica.image,
        entrypoint=list(replica.entrypoint) if replica.entrypoint is not None else None,
        cmd=list(replica.cmd) if replica.cmd is not None else None,
        env=dict(replica.env),
        labels={HOME_LABEL: home, JOB_LABEL: plan.job_id, TASK_LABEL: replica.task_name},
        mounts=replica.mounts,
        gpus=replica.resources.gpus,
        cpu_limit=replica.resources.cpus if limits else 0.0,
        memory_limit_gb=replica.resources.memory_gb if limits else 0.0,
    )


def container_name(home: str, job_id: str, task: str) -> str:
    """`vertexd-<job>-<task>-<home hash>`: unique per server home, readable in `docker ps`."""
    tag = hashlib.sha256(home.encode()).hexdigest()[:8]
    return re.sub(r"[^a-zA-Z0-9_.-]", "-", f"vertexd-{job_id}-{task}-{tag}")
