"""Service settings: flags of `vertexd serve`, or VERTEXD_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_home() -> Path:
    return Path.home() / ".vertexd"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="VERTEXD_", extra="ignore")

    home: Path = Field(default_factory=default_home)
    # Empty: SQLite (WAL) at <home>/vertexd.db. Any SQLAlchemy URL otherwise (PostgreSQL).
    database_url: str = ""
    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    # "local": gs://BUCKET/path is <home>/buckets/BUCKET/path. "gcs": real GCS through gcsfs
    # (or a GCS emulator named by STORAGE_EMULATOR_HOST).
    gcs: Literal["local", "gcs"] = "local"
    # The host's budget; unset means what the machine has (0: none, so one job at a time).
    cpus: float | None = Field(default=None, ge=0)
    memory_gb: float | None = Field(default=None, ge=0)
    # GPUs: unset, every NVIDIA GPU NVML shows; "0,2" only those; "N" the first N (N declared
    # devices where NVML is missing: machines without it, and tests).
    gpus: str | None = None
    # Seconds between SIGTERM and SIGKILL when a job is stopped.
    grace_seconds: float = Field(default=10.0, ge=0)
    # Seconds between two looks at a running job's replicas (backends that cannot say when
    # a replica ends: containers, Ray).
    poll_seconds: float = Field(default=0.02, gt=0)
    # Local replicas run this much nicer than the server, so that the API answers quickly
    # while replicas fill the host (0: the server's priority). The engine process runs
    # between the two (engine/wiring.py's engine_nice).
    replica_nice: int = Field(default=10, ge=0, le=19)
    # pythonPackageSpec replicas forked from a started interpreter of their environment
    # (backends/warm_python.py), not started anew: no Python start-up per replica.
    warm_python: bool = True
    # Docker Engine API socket (Docker or Podman) for replicas with an image, e.g.
    # unix:///var/run/docker.sock. Empty: the first that answers of DOCKER_HOST,
    # CONTAINER_HOST and the usual sockets (backends/container/discovery.py); "none": off.
    container_engine: str = ""
    # When images are pulled: "missing" (only what the engine lacks), "always", "never".
    pull: Literal["missing", "always", "never"] = "missing"
    # Cap each container at its machine type's vCPUs and memory (off: as on Vertex, where a
    # replica has its VM to itself).
    limit_containers: bool = False
    # Refuse at create what this host cannot give (GPUs it lacks, more CPUs or memory than
    # it has) instead of running it with less and a warning.
    strict_resources: bool = False
    # Where replicas run: "local" processes, or actors on a Ray cluster at `ray_address`
    # (empty: RAY_ADDRESS, or a new Ray instance on this machine).
    backend: Literal["local", "ray"] = "local"
    ray_address: str = ""
    # How long a job waits for its Ray placement group before it fails.
    ray_placement_timeout_seconds: float = Field(default=60.0, gt=0)
    # Idle replica actors kept warm on every Ray node (they reserve no resources); 0: none.
    ray_warm_actors: int = Field(default=2, ge=0)
    # Security (README "Security"). With a token file, API calls need `Authorization: Bearer`
    # and its content. A non-loopback `host` needs one, unless `insecure_no_auth`.
    auth_token_file: Path | None = None
    insecure_no_auth: bool = False
    # Host names requests may name besides loopback and the bound address ("*": any).
    allowed_hosts: list[str] = Field(default_factory=list)
    # Web origins (scheme://host[:port]) allowed to call the API cross-site (CORS).
    allow_origins: list[str] = Field(default_factory=list)
    # HTTPS: a PEM certificate (chain) and its key.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # gRPC (the official clients' default transport) on this port, 0: off. TLS with the
    # certificate above, else a private CA in <home>/tls/; `grpc_insecure`: plaintext.
    grpc_port: int = Field(default=8443, ge=0, le=65535)
    grpc_insecure: bool = False

    @field_validator("gpus", mode="before")
    @classmethod
    def _gpus_as_text(cls, value: object) -> object:
        return str(value) if isinstance(value, int) else value

    @property
    def gpu_count(self) -> int | None:
        """`gpus` as a count (a list counts its devices), None when unset."""
        if self.gpus is None or not self.gpus.strip():
            return None
        text = self.gpus.strip()
        return int(text) if text.isdigit() else len([p for p in text.split(",") if p.strip()])

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'vertexd.db'}"

    @property
    def token_path(self) -> Path:
        """Where `vertexd serve --generate-token` writes a token (the CLI reads it there)."""
        return self.home / "auth-token"

    @property
    def buckets_dir(self) -> Path:
        return self.home / "buckets"

    @property
    def envs_dir(self) -> Path:
        return self.home / "envs"

    @property
    def jobs_dir(self) -> Path:
        return self.home / "jobs"
