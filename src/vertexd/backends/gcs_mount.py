"""/gcs for a local replica: the local buckets bound at /gcs in a mount namespace of its own.

The replica runner calls `mount_gcs` before it starts the replica, which inherits the
namespace. The namespace is private (nothing mounted in it reaches the host's) and holds one
more mount: the buckets folder at /gcs, as Vertex (and vertexd's containers) offer it. As root
that needs only a new mount namespace (the empty /gcs mount point is made if missing); other
users get one inside a user namespace of their own (uid and gid mapped to themselves), where
the kernel allows it and /gcs exists. Otherwise the replica runs without /gcs and the reason
is returned, for the job log. The process group, signals and exit file are not affected: no
new PID namespace is made.
"""

from __future__ import annotations

import ctypes
import os
from pathlib import Path

from vertexd.backends import process_group

GCS = Path("/gcs")
BUCKETS_ENV = "VERTEXD_BUCKETS_DIR"
_CLONE_NEWNS = 0x00020000
_CLONE_NEWUSER = 0x10000000
_MS_BIND = 4096
_MS_REC = 16384
_MS_PRIVATE = 1 << 18


def mount_gcs(env: dict[str, str]) -> str | None:
    """Bind the buckets folder named in `env` at /gcs for this process and its children.

    None when it worked or there is nothing to do (no local buckets); else why not."""
    buckets = env.get(BUCKETS_ENV)
    if not buckets or not os.path.isdir(buckets):
        return None
    if not hasattr(os, "uname") or os.uname().sysname != "Linux":
        return "/gcs is not available: mount namespaces need Linux."
    try:
        libc = process_group.libc()
        _new_namespace(libc)
        _call(libc.mount, b"none", b"/", None, _MS_REC | _MS_PRIVATE, None)
        if not GCS.is_dir():
            GCS.mkdir()  # possible as root only; the folder is an empty mount point
        _call(libc.mount, os.fsencode(buckets), bytes(GCS), None, _MS_BIND | _MS_REC, None)
    except OSError as exc:
        return f"/gcs is not available to this job's local replicas ({exc})."
    return None


def _new_namespace(libc: ctypes.CDLL) -> None:
    if os.geteuid() == 0:
        _call(libc.unshare, _CLONE_NEWNS)
        return
    if not GCS.is_dir():
        raise OSError("there is no /gcs folder to mount on; as root, `mkdir /gcs` makes one")
    uid, gid = os.geteuid(), os.getegid()
    try:
        _call(libc.unshare, _CLONE_NEWUSER | _CLONE_NEWNS)
    except OSError as exc:
        raise OSError(f"unprivileged user namespaces are not allowed here: {exc}") from None
    Path("/proc/self/setgroups").write_text("deny")
    Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
    Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")


def _call(function: object, *args: object) -> None:
    result = function(*args)  # type: ignore[operator]
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, os.strerror(errno))
