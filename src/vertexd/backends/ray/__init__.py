"""The Ray backend: `vertexd serve --backend ray --ray-address ADDRESS`.

backend.py (the verbs), placement.py (placement groups and what is missing), actor.py (one
actor per replica), process.py (the replica's process inside it; no Ray), config.py.
Importing this package imports no Ray; backend.py does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from vertexd.backends.ray.backend import RayBackend
    from vertexd.launch.plan import Resources
    from vertexd.settings import Settings


def ray_backend(settings: Settings) -> tuple[RayBackend, Resources]:
    """The backend, connected to the cluster, and the budget jobs are admitted against: the
    cluster's resources, less where `--cpus`, `--memory-gb` or `--gpus` say otherwise."""
    from vertexd.backends.ray.backend import RayBackend
    from vertexd.backends.ray.config import RayConfig
    from vertexd.launch.plan import Resources

    backend = RayBackend(RayConfig.from_settings(settings))
    cluster = backend.capacity()
    capacity = Resources(
        settings.cpus if settings.cpus is not None else cluster.cpus,
        settings.memory_gb if settings.memory_gb is not None else cluster.memory_gb,
        settings.gpu_count if settings.gpu_count is not None else cluster.gpus,
    )
    return backend, capacity
