"""What a backend started for a job: a small typed record with a `kind`, saved in the store
(as JSON) so that a restarted server can poll and stop what an earlier one started."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class LocalReplica(_Record):
    task: str
    pid: int
    start_time: float | None  # tells our process from a later one that reused the pid
    exit_file: str  # where the runner records the exit code


class LocalHandle(_Record):
    kind: Literal["local"] = "local"
    replicas: tuple[LocalReplica, ...]

    @property
    def label(self) -> str:
        return "local"


class ContainerReplica(_Record):
    task: str
    container: str  # the engine's container id
    name: str
    log: str  # the job log its output is copied into


class ContainerHandle(_Record):
    kind: Literal["container"] = "container"
    replicas: tuple[ContainerReplica, ...]

    @property
    def label(self) -> str:
        return "container"


class RayReplica(_Record):
    task: str
    actor: str  # the detached actor's name
    node_ip: str = ""
    node_id: str = ""


class RayHandle(_Record):
    kind: Literal["ray"] = "ray"
    namespace: str
    placement_group: str
    replicas: tuple[RayReplica, ...]
    log: str = ""  # set at submit: the job log the replicas' lines go to

    @property
    def label(self) -> str:
        return "ray"


class RoutedPart(_Record):
    role: Literal["default", "images"]
    tasks: tuple[str, ...]
    handle: Handle


class RoutedHandle(_Record):
    """A job split over two backends: local processes (or Ray) and a container engine."""

    kind: Literal["routed"] = "routed"
    order: tuple[str, ...]  # every task, in plan order
    parts: tuple[RoutedPart, ...]

    @property
    def label(self) -> str:
        return "+".join(part.handle.label for part in self.parts)


Handle = Annotated[
    LocalHandle | ContainerHandle | RayHandle | RoutedHandle, Field(discriminator="kind")
]
RoutedPart.model_rebuild()
_HANDLE: TypeAdapter[Handle] = TypeAdapter(Handle)


def load_handle(data: dict[str, Any]) -> Handle:
    return _HANDLE.validate_python(data)


def dump_handle(handle: Handle) -> dict[str, Any]:
    return handle.model_dump(mode="json")
