"""What changes when a replica runs in a container: storage, staged packages, paths.

- The local buckets are mounted at /gcs, so /gcs/BUCKET/path is gs://BUCKET/path (Vertex's
  Cloud Storage FUSE convention). AIP_MODEL_DIR and friends stay gs:// URIs, as on Vertex;
  the gs:// shim of the local environments is mounted too and put on PYTHONPATH, so a
  program in the container that opens gs:// URIs with fsspec (pandas, joblib, gcsfs users)
  reaches the same local buckets when the image has fsspec.
- pythonPackageSpec on an executor image the engine has: the packages are staged into a
  folder mounted at /vertexd/packages, installed with the image's pip, then
  `python3 -m MODULE ARGS` runs, as Vertex's prebuilt containers do.
- A trial's metric file (cloudml-hypertune) is written at its default path in the container,
  /tmp/hypertune/output.metrics, a mounted host folder the tuner reads back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from vertexd.launch.environments import BUCKETS_ENV, install_gs_shim
from vertexd.launch.plan import Mount, ReplicaPlan
from vertexd.storage import Storage

# The image's own environment (its ENV lines), or None when the engine does not have it.
ImageEnv = Callable[[str], dict[str, str] | None]
Log = Callable[[str], None]

GCS_MOUNT = "/gcs"
SHIM_MOUNT = "/opt/vertexd/gs-shim"
PACKAGES_MOUNT = "/vertexd/packages"
HYPERTUNE_DIR = "/tmp/hypertune"
METRIC_FILE_ENV = "CLOUD_ML_HP_METRIC_FILE"

# Runs as the container's ENTRYPOINT: install the staged packages, then the module with the
# arguments (CMD). PIP_* are set for pip only: the training program does not see them. Source
# packages are built with the image's own build tools first (no index may be reachable), and
# in pip's isolated build environments when that fails.
INSTALL_AND_RUN = f"""set -e
pip_install() {{
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1 \\
    python3 -m pip install --quiet --no-warn-script-location "$@"
}}
pip_install --no-build-isolation {PACKAGES_MOUNT}/* || {{
  echo "vertexd: installing the packages again, with build isolation" >&2
  pip_install {PACKAGES_MOUNT}/*
}}
exec python3 -m "$@"
"""


@dataclass(frozen=True)
class InContainer:
    """A pythonPackageSpec pool that runs in its executor image."""

    image: str
    packages: Path  # the staged package files, mounted at PACKAGES_MOUNT


class ContainerLaunch:
    def __init__(self, image_env: ImageEnv, storage: Storage, scratch: Path, shim: bool) -> None:
        self.image_env = image_env
        self.storage = storage
        self.buckets_dir = storage.buckets_dir if storage.mode == "local" else None
        self.shim_dir = _shim_folder(scratch) if shim and self.buckets_dir else None

    def executor(
        self, pool: int, image: str, package_uris: list[str], staging: Path, log: Log
    ) -> InContainer | None:
        """The pool runs in its executor image when the engine has it; say which way in `log`."""
        if self.image_env(image) is None:
            log(
                f"workerpool{pool}: the executor image {image} is not on the container engine: "
                "its packages run in a local Python environment that stands for it."
            )
            return None
        log(
            f"workerpool{pool}: the executor image {image} is on the container engine: its "
            "packages are installed with pip in a container of it."
        )
        staging.mkdir(parents=True, exist_ok=True)
        for uri in package_uris:
            self.storage.fetch(uri, staging)
        return InContainer(image, staging)

    def python_replica(
        self, replica: ReplicaPlan, found: InContainer, module: str, args: list[str]
    ) -> ReplicaPlan:
        packages = Mount(found.packages, PACKAGES_MOUNT, read_only=True)
        entrypoint = ("sh", "-c", INSTALL_AND_RUN, "vertexd-replica")
        runs = replace(
            replica,
            argv=(),
            image=found.image,
            entrypoint=entrypoint,
            cmd=(module, *args),
            mounts=(*replica.mounts, packages),
        )
        return self.adapt(runs)

    def adapt(self, replica: ReplicaPlan) -> ReplicaPlan:
        """Host paths in the replica's environment become mounts and paths in the container."""
        assert replica.image is not None
        env, mounts = dict(replica.env), list(replica.mounts)
        env.pop(BUCKETS_ENV, None)
        if self.buckets_dir is not None:
            self.buckets_dir.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(self.buckets_dir, GCS_MOUNT))
            if self.shim_dir is not None:
                env[BUCKETS_ENV] = GCS_MOUNT
                mounts.append(Mount(self.shim_dir, SHIM_MOUNT, read_only=True))
                env["PYTHONPATH"] = _python_path(env, self.image_env(replica.image) or {})
        if METRIC_FILE_ENV in env:
            host_file = Path(env[METRIC_FILE_ENV])
            host_file.parent.mkdir(parents=True, exist_ok=True)
            mounts.append(Mount(host_file.parent, HYPERTUNE_DIR))
            env[METRIC_FILE_ENV] = f"{HYPERTUNE_DIR}/{host_file.name}"
        return replace(replica, env=env, mounts=tuple(mounts))


def _python_path(env: dict[str, str], image_env: dict[str, str]) -> str:
    """The shim first, then what the job or else the image puts on PYTHONPATH."""
    rest = env.get("PYTHONPATH") or image_env.get("PYTHONPATH") or ""
    return f"{SHIM_MOUNT}:{rest}" if rest else SHIM_MOUNT


def _shim_folder(scratch: Path) -> Path:
    """A folder holding the gs:// shim as an installed distribution (rewritten at start)."""
    root = scratch / ".container-gs-shim"
    install_gs_shim(root)
    return next(root.glob("lib/python*/site-packages"))
