"""Per-job credentials: a secret each job may use to reach vertexd's own endpoints (the
storage API) while the server requires a token, without being handed the user's token.

A secret is issued when a job starts and revoked when it ends. Only a hash of each secret is
kept, and lookups go by hash, so a timing difference reveals nothing about a secret."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import threading
from pathlib import Path

SECRET_BYTES = 32
PATH_PREFIX = "/_job/"  # the guard strips `/_job/SECRET` before routing (storage paths only)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class JobCredentials:
    """Which job (if any) a presented secret belongs to. Safe to use from any thread."""

    def __init__(self, key: bytes | None = None) -> None:
        # With a key (kept in the server's home), a job's secret is derived from it, so a
        # restarted server gives a reattached job the secret its replicas already hold.
        self._key = key
        self._jobs: dict[str, str] = {}  # digest of the secret -> job id
        self._lock = threading.Lock()

    def issue(self, job_id: str) -> str:
        """The secret of `job_id`, accepted from now until `revoke` (without a key, a new
        random one each time: a job may then hold several, e.g. one per attempt)."""
        if self._key is not None:
            secret = hmac.new(self._key, job_id.encode(), hashlib.sha256).hexdigest()
        else:
            secret = secrets.token_urlsafe(SECRET_BYTES)
        self.register(job_id, secret)
        return secret

    def register(self, job_id: str, secret: str) -> None:
        """Accept a secret issued before (a job reattached after a restart keeps its own)."""
        if len(secret) < SECRET_BYTES:
            raise ValueError("a job credential must be at least 32 characters")
        with self._lock:
            self._jobs[_digest(secret)] = job_id

    def revoke(self, job_id: str) -> None:
        """Every secret of `job_id` stops working."""
        with self._lock:
            for digest in [d for d, job in self._jobs.items() if job == job_id]:
                del self._jobs[digest]

    def job_for(self, secret: str) -> str | None:
        """The job the secret was issued to, or None for an unknown or revoked secret."""
        if not secret:
            return None
        with self._lock:
            return self._jobs.get(_digest(secret))


def server_key(path: Path) -> bytes:
    """The key jobs' secrets derive from, made once per server home (mode 0600)."""
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_bytes(32).hex().encode())
        finally:
            os.close(fd)
    return bytes.fromhex(path.read_text().strip())


def job_endpoint(base_url: str, secret: str) -> str:
    """The server's URL as one job sees it: `http://127.0.0.1:8080/_job/SECRET` (a storage
    client appends `/storage/v1/...` to it, e.g. as STORAGE_EMULATOR_HOST)."""
    return f"{base_url.rstrip('/')}{PATH_PREFIX}{secret}"
