"""One Backend over two: replicas with an image go to the image backend (a container engine),
the others to the default backend (local processes or Ray). A job may mix both.

The handle lists each part with the role that ran it and its tasks, so statuses come back in
plan order and a restarted server sends every call to the right place. A handle of one
backend alone (saved by a server without containers) is the default backend's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from vertexd.backends.base import Backend, Handle, LaunchError, ReplicaStatus, Reservation, Unwatch
from vertexd.backends.handles import RoutedHandle, RoutedPart
from vertexd.launch.plan import LaunchPlan, Resources

NO_ENGINE = "no container engine is configured on this vertexd server (--container-engine)"


class RoutingBackend:
    def __init__(self, default: Backend, images: Backend | None) -> None:
        self.default, self.images = default, images
        self.name = f"{default.name}+{images.name}" if images is not None else default.name
        self.runs_images = images is not None

    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        """The default backend chooses every address (containers use the host's network)."""
        return self.default.reserve(job_id, replicas)

    def release(self, reservation: Reservation) -> None:
        self.default.release(reservation)

    def submit(self, plan: LaunchPlan) -> Handle:
        parts: list[RoutedPart] = []
        try:
            for role in ("default", "images"):
                replicas = tuple(
                    r for r in plan.replicas if (r.image is not None) == (role == "images")
                )
                if replicas:
                    handle = self._backend(role).submit(replace(plan, replicas=replicas))
                    tasks = tuple(r.task_name for r in replicas)
                    parts.append(RoutedPart(role=role, tasks=tasks, handle=handle))  # type: ignore[arg-type]
        except LaunchError:
            for part in parts:  # what started already must not outlive the failed job
                self._backend(part.role).cleanup(part.handle)
            raise
        return RoutedHandle(order=tuple(r.task_name for r in plan.replicas), parts=tuple(parts))

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        if not isinstance(handle, RoutedHandle):
            return self.default.poll(handle)
        found: dict[str, ReplicaStatus] = {}
        for part in handle.parts:
            if part.role == "images" and self.images is None:
                for task in part.tasks:
                    found[task] = ReplicaStatus(task, False, lost=True, detail=NO_ENGINE)
                continue
            for status in self._backend(part.role).poll(part.handle):
                found[status.task_name] = status
        return [found[task] for task in handle.order]

    def watch(self, handle: Handle, changed: Callable[[], None]) -> Unwatch | None:
        """Watched only when every part's backend can tell."""
        stops = [backend.watch(part, changed) for backend, part in self._parts(handle)]
        if any(stop is None for stop in stops):
            for stop in stops:
                if stop is not None:
                    stop()
            return None

        def unwatch() -> None:
            for stop in stops:
                assert stop is not None
                stop()

        return unwatch

    def stop(self, handle: Handle, force: bool) -> None:
        for backend, part in self._parts(handle):
            backend.stop(part, force)

    def cleanup(self, handle: Handle) -> None:
        for backend, part in self._parts(handle):
            backend.cleanup(part)

    def _backend(self, role: str) -> Backend:
        if role == "images":
            if self.images is None:
                raise LaunchError(NO_ENGINE)
            return self.images
        return self.default

    def _parts(self, handle: Handle) -> list[tuple[Backend, Handle]]:
        if not isinstance(handle, RoutedHandle):
            return [(self.default, handle)]
        return [
            (self._backend(part.role), part.handle)
            for part in handle.parts
            if part.role != "images" or self.images is not None
        ]
