"""How replicas reach the local buckets through Cloud Storage clients: vertexd's own address."""

from __future__ import annotations

WILDCARDS = ("", "0.0.0.0", "::", "[::]")


def emulator_host(host: str, port: int) -> str:
    """The STORAGE_EMULATOR_HOST value for a server bound to host:port; a wildcard bind is
    reached at 127.0.0.1 (replicas run on this machine, containers on its network)."""
    if host in WILDCARDS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 address
    return f"http://{host}:{port}"


def replica_storage_env(host: str, port: int) -> dict[str, str]:
    """What every replica gets so that google-cloud-storage and gcsfs use the local buckets.

    gcsfs would also ask Cloud Storage's gRPC control plane what kind each bucket is (and log
    a warning when it cannot); its switch for that is turned off, as an emulator needs.
    """
    return {
        "STORAGE_EMULATOR_HOST": emulator_host(host, port),
        "GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT": "false",
    }
