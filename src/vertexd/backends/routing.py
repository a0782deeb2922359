"""One Backend over two: replicas with an image go to the image backend (a container engine),
the others to the default backend (local processes). A job may mix both.

The handle lists each part with the backend that ran it and its tasks, so statuses come back
in plan order and a restarted server sends every call to the right place. A handle saved by
a server that had no router (a plain local handle) still works: it is the default's.
"""

from __future__ import annotations

from dataclasses import replace

from vertexd.backends.base import Backend, Handle, LaunchError, ReplicaStatus, Reservation
from vertexd.launch.plan import LaunchPlan, Resources


class RoutingBackend:
    def __init__(self, default: Backend, images: Backend | None) -> None:
        self.default, self.images = default, images
        # The backends the last submit used ("ray", "container", "local+container"): read by
        # the supervisor right after its submit, in the same step of the event loop.
        self.name = default.name
        self.runs_images = images is not None

    def reserve(self, job_id: str, replicas: list[tuple[str, Resources]]) -> Reservation:
        """The default backend chooses every address (containers use the host's network)."""
        return self.default.reserve(job_id, replicas)

    def release(self, reservation: Handle) -> None:
        self.default.release(reservation)

    def submit(self, plan: LaunchPlan) -> Handle:
        groups = {
            role: tuple(r for r in plan.replicas if (r.image is not None) == (role == "images"))
            for role in ("default", "images")
        }
        parts: list[Handle] = []
        try:
            for role, replicas in groups.items():
                if replicas:
                    backend = self._backend(role)
                    handle = backend.submit(replace(plan, replicas=replicas))
                    tasks = [r.task_name for r in replicas]
                    parts.append({"role": role, "tasks": tasks, "handle": handle})
        except LaunchError:
            for part in parts:  # what started already must not outlive the failed job
                self._backend(part["role"]).cleanup(part["handle"])
            raise
        self.name = "+".join(self._backend(part["role"]).name for part in parts)
        return {"order": [r.task_name for r in plan.replicas], "parts": parts}

    def poll(self, handle: Handle) -> list[ReplicaStatus]:
        if "parts" not in handle:
            return self.default.poll(handle)
        found: dict[str, ReplicaStatus] = {}
        for part in handle["parts"]:
            if part["role"] == "images" and self.images is None:
                for task in part["tasks"]:
                    found[task] = ReplicaStatus(task, False, lost=True, detail=NO_ENGINE)
                continue
            for status in self._backend(part["role"]).poll(part["handle"]):
                found[status.task_name] = status
        return [found[task] for task in handle["order"]]

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
        if "parts" not in handle:
            return [(self.default, handle)]
        return [
            (self._backend(part["role"]), part["handle"])
            for part in handle["parts"]
            if part["role"] != "images" or self.images is not None
        ]


NO_ENGINE = "no container engine is configured on this vertexd server (--container-engine)"
