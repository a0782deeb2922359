"""The API process's end of the engine: starts the engine process, waits until it has
recovered, passes requests on (wake, cancel, tune, track) and stops it.

Two socket pairs join the ends, one JSON object per line: requests to the engine, and the
engine's messages back. The store is the truth: a request only says "look again" or "stop
this", so none carries a job's state. The engine sends `ready` with the host's facts once
recovery is done (or `failed`), then `issued`/`revoked` as jobs' storage credentials start
and stop working (the API's guard checks them; a secret derives from the server's key and
the job id, so only the id travels), and closes its end when it exits.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import IO, Any

from vertexd.core.errors import Unavailable
from vertexd.core.job_credentials import JobCredentials
from vertexd.launch.plan import Resources
from vertexd.scheduler.gpus import Gpu
from vertexd.settings import Settings

log = logging.getLogger(__name__)

# To the engine.
WAKE, CANCEL, TUNE, CANCEL_TUNING, TRACK, STOP = (
    "wake",
    "cancel",
    "tune",
    "cancelTuning",
    "track",
    "stop",
)
# From the engine: once, then as jobs start and end.
READY, FAILED, ISSUED, REVOKED = "ready", "failed", "issued", "revoked"
STOP_MARGIN_SECONDS = 30.0  # beyond the replicas' grace, for the engine's own shutdown


class EngineFailed(Exception):
    """The engine process could not start; the message says why."""


def encode(op: str, **fields: Any) -> bytes:
    return json.dumps({"op": op, **fields}).encode() + b"\n"


@dataclass(frozen=True)
class Facts:
    """What the engine found of the host, for the API's checks at create and the console."""

    capacity: Resources  # what jobs may use here
    gpus: list[Gpu]  # the host's GPU inventory (empty on Ray: the cluster hands them out)
    container_url: str | None  # the container engine replicas run on, if any
    container_gpus: bool  # it can give containers GPUs
    no_container_engine: str  # where the engine looked for one

    @classmethod
    def from_message(cls, facts: dict[str, Any]) -> Facts:
        return cls(
            Resources(**facts["capacity"]),
            [Gpu(**gpu) for gpu in facts["gpus"]],
            facts["containerUrl"],
            facts["containerGpus"],
            facts["noContainerEngine"],
        )


@dataclass(frozen=True)
class Spawned:
    """An engine process that loads its code and waits for its settings: started before
    the server loads its own code, the two load at once."""

    process: subprocess.Popen[bytes]
    requests: socket.socket
    replies: IO[bytes]

    @classmethod
    def start(cls) -> Spawned:
        ours, theirs = socket.socketpair()  # requests
        back, sender = socket.socketpair()  # the engine's messages
        fds = (theirs.fileno(), sender.fileno())
        command = [sys.executable, "-m", "vertexd.engine", *map(str, fds), str(os.getpid())]
        process = subprocess.Popen(command, stdin=subprocess.PIPE, pass_fds=fds)
        theirs.close()
        sender.close()
        return cls(process, ours, back.makefile("rb"))


class EngineLink:
    def __init__(
        self,
        process: subprocess.Popen[bytes],
        sock: socket.socket,
        replies: IO[bytes],
        credentials: JobCredentials,
    ) -> None:
        self._process, self._sock, self._replies = process, sock, replies
        self._credentials = credentials
        self._sending = threading.Lock()
        self._stopping = False
        self.problem: str | None = None  # why no job runs, once the engine stopped on its own
        self.jobs, self.tuning, self.pipelines = _Jobs(self), _Tuning(self), _Pipelines(self)

    @classmethod
    def start(
        cls, settings: Settings, credentials: JobCredentials, spawned: Spawned | None = None
    ) -> EngineLink:
        """Start the engine (or give `spawned` its settings): it recovers what an earlier
        one left, then says it is ready (`wait_ready`); the jobs' credentials it issues are
        accepted by `credentials`. Call after the store is migrated, from a thread that
        lives as long as the server (the engine dies with the thread that spawned it)."""
        spawned = spawned or Spawned.start()
        process = spawned.process
        assert process.stdin is not None
        try:
            with process.stdin:  # the settings as this process resolved them (flags, env, files)
                process.stdin.write(settings.model_dump_json().encode())
        except BrokenPipeError:
            pass  # it has exited: wait_ready says how
        return cls(process, spawned.requests, spawned.replies, credentials)

    def wait_ready(self) -> Facts:
        """The host's facts once the engine has recovered; EngineFailed if it could not."""
        message: dict[str, Any] = {}
        while line := self._replies.readline():  # reattached jobs' credentials come first
            message = json.loads(line)
            if not self._take(message):
                break
        if message.get("op") == READY:
            threading.Thread(target=self._watch, name="vertexd-engine-link", daemon=True).start()
            return Facts.from_message(message["facts"])
        code = self._process.wait()
        self._sock.close()
        raise EngineFailed(
            message.get("message") or f"The engine process stopped at start (exit code {code})."
        )

    def send(self, op: str, **fields: Any) -> None:
        """Pass a request on (any thread); Unavailable when the engine has stopped."""
        with self._sending:
            if self.problem is None:
                try:
                    self._sock.sendall(encode(op, **fields))
                    return
                except OSError as exc:
                    self.problem = _stopped(f"cannot be reached ({exc})")
        raise Unavailable(self.problem)

    def stop(self, grace_seconds: float) -> None:
        """Stop the engine (it stops the jobs' replicas) and wait until it has exited."""
        self._stopping = True
        try:
            with self._sending:
                self._sock.sendall(encode(STOP))
        except OSError:
            pass  # it has stopped already
        try:
            self._process.wait(grace_seconds + STOP_MARGIN_SECONDS)
        except subprocess.TimeoutExpired:
            log.error("the engine did not stop in time: killing it")
            self._process.kill()
            self._process.wait()
        self._sock.close()

    def _take(self, message: dict[str, Any]) -> bool:
        """A credential's news: taken (True); anything else is not (False)."""
        if message["op"] == ISSUED:
            self._credentials.issue(message["job"])
        elif message["op"] == REVOKED:
            self._credentials.revoke(message["job"])
        else:
            return False
        return True

    def _watch(self) -> None:
        """Take the engine's messages until its end closes: it exited."""
        while line := self._replies.readline():
            self._take(json.loads(line))
        code = self._process.wait()
        if not self._stopping:
            self.problem = _stopped(f"stopped (exit code {code})")
            log.error("%s", self.problem)


def _stopped(how: str) -> str:
    return (
        f"The vertexd engine, which runs the jobs, {how}: no job runs until the server is "
        "restarted (every job record is kept)."
    )


class _Jobs:
    """CustomJobs (service.custom_jobs.JobRunner)."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def wake(self) -> None:
        self.link.send(WAKE)

    def cancel(self, name: str) -> None:
        self.link.send(CANCEL, name=name)


class _Tuning:
    """HyperparameterTuningJobs (service.tuning_jobs.TuningRunner)."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def submit(self, name: str) -> None:
        self.link.send(TUNE, name=name)

    def cancel(self, name: str) -> None:
        self.link.send(CANCEL_TUNING, name=name)


class _Pipelines:
    """TrainingPipelines (service.training_pipelines.PipelineTracker)."""

    def __init__(self, link: EngineLink) -> None:
        self.link = link

    def track(self, pipeline: str, backing: str) -> None:
        self.link.send(TRACK, name=pipeline, backing=backing)
