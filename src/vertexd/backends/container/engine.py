"""A thin adapter over the Docker Engine API (the `docker` SDK), which Docker and Podman serve.

Everything engine-specific is here: the rest of the container backend speaks in
`ContainerSpec` and `ContainerState` and catches only `EngineError`. Images are pulled only
when asked (`pull`, driven by the pull policy in pulls.py); `create` never pulls, so an image
that is still missing then is an `ImageMissing` error.

Podman (4.3+, `podman system service`) serves the same API, with these differences, found
from its version answer (a "Podman Engine" component) where they matter:
- its `Platform.Name` is the OS (`linux/amd64/debian-12`): `describe()` names Podman;
- it ignores GPU requests (`DeviceRequests`) and would run the container without GPUs: it
  has no GPU runtime (`has_gpu_runtime()`), and `create()` refuses a GPU request, saying why;
- signalling a container that is not running is a 500 "container state improper", not 409;
- its log lines are stamped to the second (Docker's to the nanosecond);
- Debian 12's Podman 4.3.1 with conmon 2.1.6 reports a container the kernel killed for memory
  as exit 137 with `OOMKilled` false: conmon writes its `oom` mark into the service's working
  directory, not the container's bundle, where Podman looks.
The `json-file` log driver, `--init` (catatonit), host networking, label filters, exit
codes and `remove(force=True)` behave as on Docker.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import docker
import docker.errors
import requests
from docker import auth
from docker.types import DeviceRequest, LogConfig
from docker.types import Mount as DockerMount
from docker.utils import parse_repository_tag

from vertexd.launch.plan import Mount

Stream = Literal["stdout", "stderr"]
API_TIMEOUT_SECONDS = 60
API_VERSION = "1.41"  # Docker 20.10+ and Podman 3+ serve it; GPU requests need 1.40
POOL_SIZE = 256  # connections kept to the engine
PODMAN = "Podman Engine"  # the component that Podman's version answer names
CDI_DIRS = (Path("/etc/cdi"), Path("/var/run/cdi"))


class EngineError(Exception):
    """The engine refused a call or could not be reached; the message says which, `reason`
    is the engine's (or the connection's) own words."""

    def __init__(self, message: str, reason: str = "", engine_down: bool = False) -> None:
        super().__init__(message)
        self.reason = reason or message
        self.engine_down = engine_down  # the engine itself did not answer


class ImageMissing(EngineError):
    def __init__(self, image: str, engine_url: str) -> None:
        super().__init__(
            f"The container image {image} is not on the container engine at {engine_url}: "
            f"pull or build it there first, e.g. `docker pull {image}` or "
            f"`docker build -t {image} .`."
        )
        self.image = image


@dataclass(frozen=True)
class ContainerSpec:
    """What to create; None for entrypoint/cmd keeps the image's own."""

    name: str
    image: str
    entrypoint: list[str] | None
    cmd: list[str] | None
    env: dict[str, str]
    labels: dict[str, str]
    mounts: tuple[Mount, ...] = ()
    gpus: int = 0
    cpu_limit: float = 0.0  # vCPUs; 0: no limit
    memory_limit_gb: float = 0.0  # 0: no limit
    network_mode: str = "host"
    init: bool = True  # a tiny init as PID 1 forwards signals and reaps zombies


@dataclass(frozen=True)
class ContainerState:
    status: str  # created, running, paused, restarting, removing, exited, dead
    exit_code: int
    oom_killed: bool = False
    error: str = ""

    @property
    def running(self) -> bool:
        return self.status not in ("exited", "dead")


def create_kwargs(spec: ContainerSpec) -> dict[str, Any]:
    """The `containers.create` arguments for `spec` (pure: unit-tested without an engine)."""
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": spec.name,
        "entrypoint": spec.entrypoint,
        "command": spec.cmd,
        "environment": dict(spec.env),
        "labels": dict(spec.labels),
        "mounts": [
            DockerMount(m.target, str(m.source), type="bind", read_only=m.read_only)
            for m in spec.mounts
        ],
        "network_mode": spec.network_mode,
        "init": spec.init,
        "stdin_open": False,
        "tty": False,
        "detach": True,
        "log_config": LogConfig(type="json-file"),
    }
    if spec.cpu_limit:
        kwargs["nano_cpus"] = int(spec.cpu_limit * 1e9)
    if spec.memory_limit_gb:
        kwargs["mem_limit"] = int(spec.memory_limit_gb * 1e9)
        kwargs["memswap_limit"] = kwargs["mem_limit"]  # no swap beyond it: an OOM is an OOM
    if spec.gpus:
        kwargs["device_requests"] = [DeviceRequest(count=spec.gpus, capabilities=[["gpu"]])]
    return kwargs


class Engine:
    def __init__(self, url: str, timeout: float = API_TIMEOUT_SECONDS) -> None:
        self.url = f"unix://{url}" if url.startswith("/") else url
        self._cpus: int | None = None
        try:
            # A fixed API version: nothing is asked of the engine before it is needed (an
            # engine that is down at start only fails the jobs that need it). Each running
            # container holds two log streams: room for many in the pool.
            self._client = docker.DockerClient(
                base_url=self.url,
                version=API_VERSION,
                timeout=int(timeout),
                max_pool_size=POOL_SIZE,
            )
        except docker.errors.DockerException as exc:
            raise EngineError(f"Cannot use the container engine at {url}: {exc}") from exc
        self._version: dict[str, Any] | None = None  # the engine's version answer, once had

    def version(self) -> dict[str, Any]:
        """The engine's version answer (asked once); raises EngineError when it does not answer."""
        if self._version is None:
            with self._errors("ask the version of"):
                self._version = dict(self._client.version())
        return self._version

    def is_podman(self) -> bool:
        components = self.version().get("Components") or []
        return any(c.get("Name") == PODMAN for c in components)

    def describe(self) -> str:
        """`Docker Engine 20.10.24 (API 1.41)`, `Podman 4.3.1 (API 1.41)`; raises EngineError
        when the engine does not answer."""
        version = self.version()
        if self.is_podman():
            name = "Podman"  # its Platform.Name is the OS it runs on
        else:  # Debian's Docker names no platform, only its "Engine" component
            platform = (version.get("Platform") or {}).get("Name") or ""
            name = platform or next((c["Name"] for c in version.get("Components", [])), "Engine")
            name = "Docker Engine" if name == "Engine" else name
        return f"{name} {version.get('Version', '?')} (API {version.get('ApiVersion', '?')})"

    # -- images ----------------------------------------------------------------------------
    def image_env(self, image: str) -> dict[str, str] | None:
        """The image's own environment (its ENV lines), or None when the engine lacks it."""
        with self._errors(f"inspect the image {image} on"):
            try:
                attrs = self._client.api.inspect_image(image)
            except docker.errors.ImageNotFound:
                return None
        pairs = ((attrs.get("Config") or {}).get("Env")) or []
        return dict(pair.split("=", 1) for pair in pairs if "=" in pair)

    def pull(self, image: str) -> Iterator[dict[str, Any]]:
        """Pull `image`, yielding the engine's progress events. Credentials are found as
        Docker's CLI finds them (~/.docker/config.json, its credential helpers), read anew
        each time so that a `docker login` after vertexd started counts."""
        repository, tag = parse_repository_tag(image)
        with self._errors(f"pull {image} with"):
            self._client.api.reload_config()
            yield from self._client.api.pull(repository, tag or "latest", stream=True, decode=True)

    def cpu_count(self) -> int:
        if self._cpus is None:
            with self._errors("ask about"):
                self._cpus = int(self._client.api.info().get("NCPU") or 1)
        return self._cpus

    def has_gpu_runtime(self) -> bool:
        """Whether the engine can hand GPUs to containers (an NVIDIA runtime or CDI devices).
        Never through Podman's Docker-compatible API, which ignores GPU requests."""
        if self.is_podman():
            return False
        with self._errors("ask about"):
            info = self._client.api.info()
        runtimes = set(info.get("Runtimes") or {}) | {str(info.get("DefaultRuntime") or "")}
        return "nvidia" in runtimes or bool(info.get("CDISpecDirs") and _cdi_gpus())

    def build(
        self, context: Path, tag: str, on_line: Callable[[str], None], **options: Any
    ) -> None:
        """Build `context`'s Dockerfile as `tag`, base images only from the engine (no pull)."""
        with self._errors("build an image with"):
            stream = self._client.api.build(
                path=str(context),
                tag=tag,
                rm=True,
                forcerm=True,
                pull=False,
                decode=True,
                **options,
            )
            for chunk in stream:
                if "error" in chunk:
                    raise EngineError(f"Building {tag} failed: {str(chunk['error']).strip()}")
                text = str(chunk.get("stream") or "")
                for line in text.splitlines():
                    if line.strip():
                        on_line(line)

    # -- containers ------------------------------------------------------------------------
    def create(self, spec: ContainerSpec) -> str:
        if spec.gpus and self.is_podman():
            asked = "every GPU" if spec.gpus < 0 else f"{spec.gpus} GPU(s)"
            raise EngineError(
                f"The replica asks for {asked}, but the container engine at {self.url} is "
                "Podman, whose Docker-compatible API ignores GPU requests: the container would "
                "run without them. Use Docker with the NVIDIA Container Toolkit for GPUs."
            )
        if spec.cpu_limit:  # engines refuse a CPU limit above the CPUs they have
            spec = replace(spec, cpu_limit=min(spec.cpu_limit, self.cpu_count()))
        with self._errors(f"create a container of {spec.image} on"):
            try:
                container = self._client.containers.create(**create_kwargs(spec))
            except docker.errors.ImageNotFound as exc:
                raise ImageMissing(spec.image, self.url) from exc
        return str(container.id)

    def start(self, container_id: str) -> None:
        with self._errors("start a container on"):
            self._client.api.start(container_id)

    def state(self, container_id: str) -> ContainerState | None:
        """The container's state now; None when it does not exist (any more)."""
        with self._errors(f"inspect the container {container_id[:12]} on"):
            try:
                attrs = self._client.api.inspect_container(container_id)
            except docker.errors.NotFound:
                return None
        state = attrs.get("State") or {}
        return ContainerState(
            str(state.get("Status", "")),
            int(state.get("ExitCode") or 0),
            bool(state.get("OOMKilled")),
            str(state.get("Error") or ""),
        )

    def signal(self, container_id: str, signal: str) -> None:
        """Send `signal` to the container's PID 1; a container that is not running is left."""
        with self._errors(f"signal the container {container_id[:12]} on"):
            try:
                self._client.api.kill(container_id, signal=signal)
            except docker.errors.APIError as exc:
                if not _is_gone_or_stopped(exc):
                    raise

    def remove(self, container_id: str) -> None:
        """Kill (if need be) and remove the container with its anonymous volumes."""
        with self._errors(f"remove the container {container_id[:12]} from"):
            try:
                self._client.api.remove_container(container_id, force=True, v=True)
            except docker.errors.APIError as exc:
                if not isinstance(exc, docker.errors.NotFound) and "in progress" not in str(exc):
                    raise

    def containers(self, labels: dict[str, str]) -> list[tuple[str, str, dict[str, str]]]:
        """(id, name, labels) of every container, running or not, that has all `labels`."""
        wanted = [f"{key}={value}" for key, value in labels.items()]
        with self._errors("list the containers of"):
            found = self._client.api.containers(all=True, filters={"label": wanted})
        return [
            (
                str(c["Id"]),
                str((c.get("Names") or ["?"])[0]).lstrip("/"),
                dict(c.get("Labels") or {}),
            )
            for c in found
        ]

    def log_frames(
        self, container_id: str, stream: Stream, since: float | None, follow: bool = True
    ) -> Iterator[bytes]:
        """The container's output on one stream, each frame `TIMESTAMP text`: until it stops
        (follow), or what is stored now.

        Frames are lines (with their newline) or parts of a long line (without one).
        """
        with self._errors("read a container's logs from"):
            frames = self._client.api.logs(
                container_id,
                stdout=stream == "stdout",
                stderr=stream == "stderr",
                stream=True,
                follow=follow,
                timestamps=True,
                since=since,
            )
            yield from frames

    def close(self) -> None:
        self._client.close()

    @contextmanager
    def _errors(self, doing: str) -> Iterator[None]:
        """Any SDK or connection error inside becomes an EngineError that says what failed."""
        try:
            yield
        except EngineError:
            raise
        except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
            why = _why(exc)
            down = not isinstance(exc, docker.errors.APIError)
            raise EngineError(
                f"Cannot {doing} the container engine at {self.url}: {why}", why, down
            ) from exc


def registry_of(image: str) -> str:
    """The registry an image reference names (docker.io when it names none)."""
    repository, _ = parse_repository_tag(image)
    registry, _ = auth.resolve_repository_name(repository)
    return "docker.io" if registry == auth.INDEX_NAME else registry


def _cdi_gpus() -> bool:
    return any(
        "nvidia" in path.name for folder in CDI_DIRS if folder.is_dir() for path in folder.iterdir()
    )


def _why(exc: BaseException) -> str:
    explanation = getattr(exc, "explanation", None)
    return str(explanation or exc)


def _is_gone_or_stopped(exc: Exception) -> bool:
    status = getattr(getattr(exc, "response", None), "status_code", None)
    if isinstance(exc, docker.errors.NotFound) or status == 409:
        return True
    # Docker: "... is not running"; Podman: "can only kill running containers ... is in state
    # exited: container state improper" (a 500).
    return "is not running" in str(exc) or "can only kill running containers" in str(exc)
