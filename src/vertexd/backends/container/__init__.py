"""Replicas as containers on a Docker Engine API (Docker or Podman)."""

from vertexd.backends.container.backend import ContainerBackend
from vertexd.backends.container.engine import Engine, EngineError

__all__ = ["ContainerBackend", "Engine", "EngineError"]
