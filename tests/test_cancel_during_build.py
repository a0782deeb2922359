"""A job cancelled while its Python environment is being built: the build is killed too."""

from __future__ import annotations

import io
import tarfile
import time
from pathlib import Path

import psutil
import pytest

from conftest import Server, python_job

pytestmark = pytest.mark.slow

SLOW_SETUP = """
import os, time
from setuptools import setup
with open({pid_file!r}, "w") as out:
    out.write(str(os.getpid()))
time.sleep(300)
setup(name="slowpkg", version="0.1", packages=["slowpkg"])
"""


def slow_sdist(directory: Path, pid_file: Path) -> None:
    """An sdist whose build takes five minutes, and tells its pid."""
    directory.mkdir(parents=True, exist_ok=True)
    files = {
        "slowpkg-0.1/setup.py": SLOW_SETUP.format(pid_file=str(pid_file)),
        "slowpkg-0.1/PKG-INFO": "Metadata-Version: 2.1\nName: slowpkg\nVersion: 0.1\n",
        "slowpkg-0.1/slowpkg/__init__.py": "",
    }
    with tarfile.open(directory / "slowpkg-0.1.tar.gz", "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


def test_cancel_kills_the_environment_build(server: Server, tmp_path: Path) -> None:
    pid_file = tmp_path / "build.pid"
    slow_sdist(server.home / "buckets" / "test-bucket" / "slow", pid_file)
    job = python_job("slowpkg", "gs://test-bucket/slow/slowpkg-0.1.tar.gz")
    name = server.create(job).json()["name"]
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and pid_file.read_text()):
        assert time.monotonic() < deadline, server.logs(name)
        time.sleep(0.1)
    build = int(pid_file.read_text())
    assert psutil.pid_exists(build) and server.get(name)["state"] == "JOB_STATE_PENDING"
    server.client.post(f"/v1/{name}:cancel")
    done = server.wait_for(name, "JOB_STATE_CANCELLED", "JOB_STATE_FAILED", timeout=30)
    assert done["state"] == "JOB_STATE_CANCELLED"
    time.sleep(0.5)
    gone = not psutil.pid_exists(build) or psutil.Process(build).status() == psutil.STATUS_ZOMBIE
    assert gone, "the build process outlived its job"
