"""Images are pulled before a job starts, as Vertex always runs the image its URI names.

The pull policy says when: `missing` (the default: only images the engine lacks), `always`
(every job asks the registry again, for tags that move), `never` (the engine must have it).
One image wanted by several jobs at once (a job's replicas, a tuning job's trials) is pulled
once: later callers join the pull in flight and see its progress in their own logs. Progress
is a few summary lines, not one per layer update. A failed pull is not retried: the job fails
with the image, the registry and the reason in words a user can act on.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from vertexd.backends.container.engine import Engine, EngineError, registry_of
from vertexd.launch.environments import BuildStopped, StopRequested, never

Policy = Literal["missing", "always", "never"]
POLICIES: tuple[Policy, ...] = ("missing", "always", "never")
Log = Callable[[str], None]
REPORT_EVERY_SECONDS = 5.0
STOP_CHECK_SECONDS = 0.2


class PullFailed(EngineError):
    """The image could not be pulled; the message is the whole story for the job's log."""


@dataclass
class _Pull:
    """One pull in flight, with the logs of everyone waiting for it."""

    image: str
    logs: list[Log]
    done: threading.Event = field(default_factory=threading.Event)
    error: PullFailed | None = None

    def say(self, line: str) -> None:
        for log in list(self.logs):
            log(line)


class ImagePuller:
    def __init__(self, engine: Engine, policy: Policy = "missing") -> None:
        self.engine, self.policy = engine, policy
        self._lock = threading.Lock()
        self._pulls: dict[str, _Pull] = {}

    def ensure(self, image: str, log: Log, should_stop: StopRequested = never) -> None:
        """Return once the engine has `image` by the policy; raise PullFailed otherwise, or
        BuildStopped when `should_stop()` while waiting (the pull itself goes on: others may
        wait for it, and the image is then there for the next job)."""
        if self.policy != "always" and self._present(image):
            return
        if self.policy == "never":
            raise PullFailed(
                f"The container image {image} is not on the container engine at "
                f"{self.engine.url}, and the pull policy is `never`: pull or build it there "
                f"first (`docker pull {image}`), or start vertexd with `--pull missing`."
            )
        with self._lock:
            pull = self._pulls.get(image)
            if pull is None:
                pull = self._pulls[image] = _Pull(image, [log])
                threading.Thread(target=self._lead, args=(pull,), daemon=True).start()
            else:
                log(f"Waiting for the pull of {image} that another job started.")
                pull.logs.append(log)
        while not pull.done.wait(STOP_CHECK_SECONDS):
            if should_stop():
                with self._lock:
                    pull.logs.remove(log)
                raise BuildStopped()
        if pull.error is not None:
            raise pull.error

    def _present(self, image: str) -> bool:
        try:
            return self.engine.image_env(image) is not None
        except EngineError as exc:
            raise PullFailed(f"Cannot pull {image}: {exc}") from exc

    def _lead(self, pull: _Pull) -> None:
        try:
            self._pull(pull)
        except PullFailed as exc:
            pull.error = exc  # each waiter raises it: its job's end says it
        finally:
            with self._lock:
                del self._pulls[pull.image]
            pull.done.set()

    def _pull(self, pull: _Pull) -> None:
        image, registry = pull.image, registry_of(pull.image)
        pull.say(f"Pulling {image} from {registry} (pull policy {self.policy}).")
        started = time.monotonic()
        progress = Progress()
        try:
            for event in self.engine.pull(image):
                line = progress.add(event)
                if line:
                    pull.say(f"Pulling {image}: {line}")
        except EngineError as exc:
            if exc.engine_down:
                raise PullFailed(f"Cannot pull the image {image}: {exc}") from exc
            raise PullFailed(pull_failure(image, registry, exc.reason)) from exc
        if progress.error:
            raise PullFailed(pull_failure(image, registry, progress.error))
        pull.say(f"Pulled {image} in {time.monotonic() - started:.1f} s ({progress.summary()}).")


class Progress:
    """Folds the engine's per-layer events into a line every few seconds."""

    def __init__(self, every: float = REPORT_EVERY_SECONDS) -> None:
        self.every = every
        self.layers: dict[str, tuple[int, int]] = {}  # id -> (bytes done, bytes in all)
        self.finished: set[str] = set()
        self.error = ""
        self.status = ""
        self._reported = time.monotonic()

    def add(self, event: dict[str, Any]) -> str | None:
        if event.get("error") or event.get("errorDetail"):
            detail = event.get("errorDetail") or {}
            self.error = str(event.get("error") or detail.get("message") or detail)
            return None
        layer, status = str(event.get("id") or ""), str(event.get("status") or "")
        detail = event.get("progressDetail") or {}
        if status.startswith(("Digest:", "Status:")):
            self.status = status
        elif layer and status in ("Pull complete", "Already exists", "Download complete"):
            self.finished.add(layer)
            done, total = self.layers.get(layer, (0, 0))
            self.layers[layer] = (total or done, total or done)
        elif layer and status == "Downloading" and detail.get("total"):
            self.layers[layer] = (int(detail.get("current") or 0), int(detail["total"]))
        elif layer and status in ("Pulling fs layer", "Waiting"):
            self.layers.setdefault(layer, (0, 0))
        now = time.monotonic()
        if now - self._reported < self.every:
            return None
        self._reported = now
        return self.summary()

    def summary(self) -> str:
        done = sum(d for d, _ in self.layers.values())
        total = sum(t for _, t in self.layers.values())
        text = f"{_mb(done)} of {_mb(total)} MB, {len(self.finished)} of {len(self.layers)} layers"
        return text if not self.status.startswith("Digest:") else f"{text}, {self.status}"


def _mb(size: int) -> str:
    return f"{size / 1e6:.1f}"


def pull_failure(image: str, registry: str, reason: str) -> str:
    """The engine's reason for a failed pull, with what a user can do about it."""
    said = reason.lower()
    if _any(said, ("unauthorized", "authentication required", "denied", "no basic auth")):
        advice = (
            f"the registry refused the credentials (`docker login {registry}` as the user "
            "running vertexd; vertexd reads ~/.docker/config.json and its credential helpers)"
        )
    elif _any(said, ("not found", "manifest unknown", "does not exist", "name unknown")):
        advice = "the registry has no such image or tag"
    elif _any(said, ("connection refused", "no such host", "dial tcp", "timeout", "unreachable")):
        advice = "the registry cannot be reached from the container engine"
    else:
        advice = "the engine could not pull it"
    return f"Cannot pull the image {image} from {registry}: {advice}. The engine said: {reason}"


def _any(text: str, words: Iterable[str]) -> bool:
    return any(word in text for word in words)
