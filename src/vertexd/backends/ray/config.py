"""What the Ray backend needs to know, taken from the service settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from vertexd.settings import Settings


class RayConfig(BaseModel, frozen=True):
    # "" means RAY_ADDRESS, or else a new Ray instance on this machine (as `ray.init()`).
    address: str = ""
    namespace: str = "vertexd"  # where the named, detached replica actors live
    # How long reserve() waits for a placement group that fits the cluster but not its
    # free resources now; one that fits no node fails at once.
    placement_timeout_seconds: float = 60.0
    # An actor not started this long after its reservation removes its placement group (the
    # server that reserved it died): nothing is held forever.
    start_deadline_seconds: float = 300.0
    # How long reserve() waits for the actors of a placed group to answer (new worker
    # processes; slow on a loaded machine, but their resources are already held).
    actor_start_seconds: float = 60.0
    # The longest a drain call waits in the actor for new output (it returns at once when
    # there is some); bounds how stale a dead node's replica can look.
    drain_wait_seconds: float = 1.0
    # Idle actors kept on every node so a replica starts at once (pool.py); 0: none.
    warm_actors_per_node: int = 2
    # Where a node makes Python environments and reads local buckets: the server's own
    # directories, which are the same path on every node (one machine, or a shared file system).
    envs_dir: Path
    buckets_dir: Path
    gcs: str = "local"

    @classmethod
    def from_settings(cls, settings: Settings, **overrides: Any) -> RayConfig:
        values: dict[str, Any] = {
            "address": settings.ray_address,
            "placement_timeout_seconds": settings.ray_placement_timeout_seconds,
            "warm_actors_per_node": settings.ray_warm_actors,
            "envs_dir": settings.envs_dir,
            "buckets_dir": settings.buckets_dir,
            "gcs": settings.gcs,
        }
        return cls(**{**values, **overrides})

    def builder(self) -> dict[str, str]:
        """How a node makes an environment (sent to the actor as plain JSON)."""
        return {"envsDir": str(self.envs_dir), "bucketsDir": str(self.buckets_dir), "gcs": self.gcs}
