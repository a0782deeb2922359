"""Which container engine to use: the one named, else the first that answers where Docker's
and Podman's own tools would look.

The search order: DOCKER_HOST, CONTAINER_HOST (Podman's variable), then the usual sockets of
Docker, Docker Desktop, rootless and rootful Podman. A candidate counts only when it answers
the Engine API's ping; what was tried and why each was passed over is kept, so that a refusal
can tell a user where vertexd looked.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import docker
import docker.errors
import requests

PING_SECONDS = 2.0
OFF = "none"


@dataclass(frozen=True)
class Candidate:
    url: str
    source: str  # where the URL came from: "DOCKER_HOST", "the usual socket", ...


@dataclass
class Search:
    """The outcome: the engine's URL (None: no engine) and what was tried."""

    url: str | None = None
    source: str = ""
    passed_over: list[str] = field(default_factory=list)

    def explain(self) -> str:
        """Where vertexd looked, for a message that says how to point it at an engine."""
        if not self.passed_over:
            return "containers are turned off (--container-engine none)"
        return "vertexd looked at " + "; ".join(self.passed_over)


def candidates(env: Mapping[str, str], home: Path) -> list[Candidate]:
    """Where to look, in order."""
    found = [
        Candidate(env[name], name) for name in ("DOCKER_HOST", "CONTAINER_HOST") if env.get(name)
    ]
    runtime = env.get("XDG_RUNTIME_DIR", "")
    sockets = [Path("/var/run/docker.sock")]
    if runtime:
        sockets.append(Path(runtime) / "docker.sock")
    sockets.append(home / ".docker" / "run" / "docker.sock")
    if runtime:
        sockets.append(Path(runtime) / "podman" / "podman.sock")
    sockets.append(Path("/run/podman/podman.sock"))
    return found + [Candidate(f"unix://{path}", "the usual socket") for path in sockets]


def find_engine(
    configured: str, env: Mapping[str, str] | None = None, home: Path | None = None
) -> Search:
    """`configured` (a URL) is used as it is, answering or not; "none" turns containers off;
    "" searches the candidates for the first that answers."""
    if configured == OFF:
        return Search()
    if configured:
        return Search(normal_url(configured), "--container-engine")
    search = Search()
    for candidate in candidates(os.environ if env is None else env, home or Path.home()):
        problem = why_not(candidate.url)
        if problem is None:
            search.url, search.source = normal_url(candidate.url), candidate.source
            return search
        search.passed_over.append(f"{candidate.url} ({candidate.source}): {problem}")
    return search


def normal_url(url: str) -> str:
    return f"unix://{url}" if url.startswith("/") else url


def why_not(url: str) -> str | None:
    """None when an engine answers at `url`; else why it does not, in a few words."""
    url = normal_url(url)
    if url.startswith("unix://"):
        path = Path(url.removeprefix("unix://"))
        if not path.exists():
            return "no such socket"
        if not os.access(path, os.R_OK | os.W_OK):
            return "no permission to use it (is this user in the docker group?)"
    try:
        client = docker.APIClient(base_url=url, version="auto", timeout=PING_SECONDS)
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        return f"does not answer the Engine API ({_short(exc)})"
    try:
        client.ping()
    except (docker.errors.DockerException, requests.RequestException, OSError) as exc:
        return f"does not answer the Engine API ({_short(exc)})"
    finally:
        client.close()
    return None


def _short(exc: BaseException) -> str:
    text = str(getattr(exc, "explanation", None) or exc)
    return text if len(text) <= 120 else text[:117] + "..."
