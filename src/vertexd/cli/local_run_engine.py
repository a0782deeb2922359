"""The engine side of `vertexd custom-jobs local-run`: build the image, run it in the foreground."""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from vertexd.backends.container.backend import container_spec
from vertexd.backends.container.engine import Engine, EngineError, Stream
from vertexd.backends.container.logcopy import split_frame
from vertexd.backends.local import free_port
from vertexd.cli.common import status
from vertexd.cli.local_run_image import Recipe, write_context
from vertexd.launch.in_container import ContainerLaunch
from vertexd.launch.plan import LaunchPlan, ReplicaPlan, Resources
from vertexd.launch.replica_env import JobContext, ReplicaSlot, replica_env
from vertexd.storage import Storage

STOP_SECONDS = 10.0
OUTPUT_BUCKET = "vertexd-local-run"


def build(engine: Engine, recipe: Recipe, tag: str) -> None:
    with tempfile.TemporaryDirectory(prefix="vertexd-local-run-") as context:
        write_context(recipe, Path(context))
        status(f"Building image [{tag}] on [{recipe.executor_image}]...")
        engine.build(Path(context), tag, status, network_mode="host")


def run(
    engine: Engine, image: str, args: list[str], home: Path, base: str | None, gpu: bool
) -> int:
    """Run `image` with `args` as its CMD in the foreground; its exit code."""
    run_id = f"local-run-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    base = base or f"gs://{OUTPUT_BUCKET}/{run_id}/"
    replica = _replica(engine, image, args, home, run_id, base)
    plan = LaunchPlan(run_id, home, home / "local-run.log", (replica,))
    spec = container_spec(plan, replica, str(home))
    spec = replace(spec, gpus=-1) if gpu else spec
    container_id = engine.create(spec)
    try:
        engine.start(container_id)
        status(f"Running [{image}] as {run_id}; AIP_MODEL_DIR={replica.env['AIP_MODEL_DIR']}")
        return _follow(engine, container_id)
    finally:
        engine.remove(container_id)


def _replica(
    engine: Engine, image: str, args: list[str], home: Path, run_id: str, base: str
) -> ReplicaPlan:
    pool: dict[str, Any] = {
        "machineSpec": {"machineType": "local"},
        "replicaCount": "1",
        "containerSpec": {"imageUri": image, "args": args},
    }
    job_spec = {"workerPoolSpecs": [pool], "baseOutputDirectory": {"outputUriPrefix": base}}
    slot = ReplicaSlot(0, 0, f"127.0.0.1:{free_port()}")
    env = {"PYTHONUNBUFFERED": "1", **replica_env(JobContext(run_id, job_spec, base), [slot], slot)}
    launch = ContainerLaunch(engine.image_env, Storage(home / "buckets"), home / "envs", shim=True)
    cmd = tuple(args) if args else None
    return launch.adapt(ReplicaPlan(slot.task_name, (), env, home, Resources(), image, None, cmd))


def _follow(engine: Engine, container_id: str) -> int:
    """Print the container's output until it ends; Ctrl-C stops it (SIGTERM, then SIGKILL)."""
    copies = [
        threading.Thread(target=_echo, args=(engine, container_id, stream, out), daemon=True)
        for stream, out in (("stdout", sys.stdout), ("stderr", sys.stderr))
    ]
    for copy in copies:
        copy.start()
    try:
        while any(copy.is_alive() for copy in copies):
            copies[0].join(0.2)
    except KeyboardInterrupt:
        status("Stopping the container...")
        engine.signal(container_id, "SIGTERM")
        for copy in copies:
            copy.join(STOP_SECONDS)
    state = engine.state(container_id)
    code = state.exit_code if state is not None and not state.running else 130
    status(f"The local run ended with exit code {code}.")
    return code


def _echo(engine: Engine, container_id: str, stream: Stream, out: TextIO) -> None:
    try:
        for frame in engine.log_frames(container_id, stream, None):
            out.write(split_frame(frame)[1])
            out.flush()
    except EngineError as exc:
        status(f"WARNING: lost the container's {stream}: {exc}")
