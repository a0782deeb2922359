"""The one protocol every backend speaks. Verbs that return at once (or soon): waiting,
timeouts and retries live once, in the scheduler's supervisor, which calls them off the
event loop."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from vertexd.backends.handles import Handle
from vertexd.launch.plan import LaunchPlan, Reservation, Resources

__all__ = ["Backend", "Handle", "LaunchError", "ReplicaStatus", "Reservation", "Unwatch"]

Unwatch = Callable[[], None]


@dataclass(frozen=True)
class ReplicaStatus:
    task_name: str
    running: bool
    exit_code: int | None = None  # set once the replica exited on its own terms
    lost: bool = False  # gone without an exit record (killed, machine lost)
    detail: str = ""

    @property
    def failed(self) -> bool:
        return self.lost or (self.exit_code is not None and self.exit_code != 0)


class LaunchError(Exception):
    """The plan cannot run here (missing image, unsatisfiable resources...): the job fails."""


class Backend(Protocol):
    name: str
    runs_images: bool  # can run ReplicaPlan.image (container engines)

    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        """Set aside room for the replicas (task name, resources) and choose their addresses.

        May wait, but must give up, with a LaunchError that says what is missing, when the
        resources can never be had.
        """
        ...

    def release(self, reservation: Reservation) -> None:
        """Give back a reservation whose plan was never submitted."""
        ...

    def submit(self, plan: LaunchPlan) -> Handle:
        """Start every replica of the plan; return at once."""
        ...

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        """The replicas' state now, in plan order."""
        ...

    def watch(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        """An optional capability: call `changed()` (from any thread) whenever a replica may
        have ended, until the returned function is called. None: the backend cannot tell,
        and the supervisor polls it."""
        ...

    def stop(self, handle: Handle, force: bool) -> None:
        """Ask every replica to stop (SIGTERM), or kill it and all it started (force)."""
        ...

    def cleanup(self, handle: Handle) -> None:
        """Release what is left once every replica has ended (containers, actors)."""
        ...
