"""Python environments for pythonPackageSpec replicas: built with uv, cached by content.

An environment stands in for a prebuilt training image: the image's framework requirements
(executors.json) and the job's packages, installed by one `uv pip install` into a venv of the
service's own Python. Its key hashes the executor and the bytes of every package, so the same
packages find their environment again with no uv call at all: the fast path is hashing the
package files and one stat.

Layout of envs_dir:
  <family>-<version>-<key16>/   a finished environment; its marker file is written last
  .<name>.tmp-<pid>/            an environment being built, renamed into place when complete
  .locks/<name>.lock            one builder per key at a time (fcntl), across processes
  .staging/                     packages fetched from Cloud Storage, for the time of a prepare
  .uv-cache/                    uv's cache, on the environments' file system so that uv
                                hardlinks installed files instead of copying them
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import os
import queue
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import IO

from vertexd.core.errors import InvalidArgument
from vertexd.launch import digests
from vertexd.launch.executors import Executor, lookup, unknown_image_message
from vertexd.storage import Storage

Log = Callable[[str], None]

MARKER = ".vertexd-env.json"
RECIPE = 1  # bump when the way environments are made changes: every key changes with it
SHIM = "vertexd_gs_shim"
SHIM_VERSION = "0.1"
BUCKETS_ENV = "VERTEXD_BUCKETS_DIR"  # what the shim reads in a replica


StopRequested = Callable[[], bool]  # asked while uv runs; True kills the build


def never() -> bool:
    return False


class BuildStopped(Exception):
    """The job that wanted the environment was stopped while it was being built."""


class EnvironmentBuildError(Exception):
    """uv could not make an environment; the message ends with uv's last lines of output."""


@dataclass(frozen=True)
class PythonEnvironment:
    python: Path  # the interpreter to run the replica with
    key: str  # sha256 of what went into the environment
    reused: bool  # True when it existed already and nothing was installed


@dataclass(frozen=True)
class _Package:
    uri: str
    path: Path  # where its bytes can be read now: in place, or fetched into staging
    digest: str


@dataclass(frozen=True)
class _Build:
    """What one build of an environment works with."""

    executor: Executor
    packages: list[_Package]
    scratch: Path
    log: Log
    should_stop: StopRequested


class EnvironmentBuilder:
    def __init__(
        self,
        envs_dir: Path,
        storage: Storage,
        *,
        shim: bool = True,
        uv_cache_dir: Path | None = None,
    ) -> None:
        self.envs_dir = Path(envs_dir)
        self.storage = storage
        self.shim = shim
        configured = uv_cache_dir or os.environ.get("UV_CACHE_DIR")
        self.uv_cache_dir = Path(configured) if configured else self.envs_dir / ".uv-cache"

    def prepare(
        self,
        executor_image_uri: str,
        package_uris: list[str],
        log: Log,
        should_stop: StopRequested = never,
    ) -> PythonEnvironment:
        """The environment for the image and packages, built unless it exists; a build stops
        (BuildStopped) as soon as `should_stop()` says so."""
        started = time.monotonic()
        executor = lookup(executor_image_uri)
        if executor is None:
            raise InvalidArgument(unknown_image_message(executor_image_uri))
        found = self._built(executor, package_uris)  # the usual case: no scratch folder
        if found is not None:
            path, key, reused = *found, True
        else:
            staging = self.envs_dir / ".staging"
            staging.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=staging) as scratch:
                packages = [
                    self._package(uri, Path(scratch, str(i))) for i, uri in enumerate(package_uris)
                ]
                key = environment_key(executor, packages, self.shim)
                path = self._path(executor, key)
                build = _Build(executor, packages, Path(scratch), log, should_stop)
                reused = _complete(path) or self._build_once(path, build)
        seconds = time.monotonic() - started
        if reused:
            log(f"Python environment {path.name} reused ({seconds * 1000:.0f} ms).")
        else:
            log(f"Python environment {path.name} built in {seconds:.1f} s.")
        return PythonEnvironment(path / "bin" / "python", key, reused)

    def _built(self, executor: Executor, package_uris: list[str]) -> tuple[Path, str] | None:
        """The complete environment for packages that are all local files, and its key."""
        packages = []
        for uri in package_uris:
            package = self._local_package(uri)
            if package is None:
                return None
            packages.append(package)
        key = environment_key(executor, packages, self.shim)
        path = self._path(executor, key)
        return (path, key) if _complete(path) else None

    def _path(self, executor: Executor, key: str) -> Path:
        return self.envs_dir / f"{executor.family}-{executor.version}-{key[:16]}"

    def _package(self, uri: str, scratch: Path) -> _Package:
        local = self._local_package(uri)
        if local is not None:
            return local
        path = self.storage.fetch(uri, scratch)  # a new file: nothing to remember
        return _Package(uri, path, _sha256(path))

    def _local_package(self, uri: str) -> _Package | None:
        """The package, if it is a file in the local buckets (its digest remembered)."""
        local = self._local_file(uri)
        return None if local is None else _Package(uri, local, digests.sha256(local))

    def _local_file(self, uri: str) -> Path | None:
        """The package's file in the local buckets, if it is one."""
        local = self.storage.local_path(uri)
        return local if local is not None and local.is_file() else None

    def _build_once(self, path: Path, build: _Build) -> bool:
        """Build `path` under its lock. True when another builder finished it meanwhile."""
        with self._lock(path.name, build.log):
            if _complete(path):
                return True
            for leftover in [path, *path.parent.glob(f".{path.name}.tmp-*")]:
                shutil.rmtree(leftover, ignore_errors=True)  # a build cut short
            self._build(path, build)
            return False

    def _build(self, path: Path, build: _Build) -> None:
        started = time.time()
        executor, packages, log = build.executor, build.packages, build.log
        log(
            f"Building Python environment {path.name}: {executor.family} {executor.version} "
            f"({', '.join(executor.requirements)}) and {len(packages)} package(s)."
        )
        building = path.parent / f".{path.name}.tmp-{os.getpid()}"
        try:
            files = [_frozen_copy(p, build.scratch / f"copy-{i}") for i, p in enumerate(packages)]
            venv = ["venv", "--quiet", "--relocatable", "--python", sys.executable, str(building)]
            self._uv(venv, build)
            python = str(building / "bin" / "python")
            sources = list(pip_sources())
            if sources:
                log(f"Package sources from pip's configuration: {' '.join(sources)}")
            self._uv(
                ["pip", "install", "--python", python, *sources, *executor.requirements, *files],
                build,
            )
            if self.shim:
                install_gs_shim(building)
            marker = _marker(executor, packages, started)
            (building / MARKER).write_text(json.dumps(marker, indent=2))
            os.rename(building, path)
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise

    def _uv(self, args: list[str], build: _Build) -> None:
        command = [uv_binary(), *args, "--cache-dir", str(self.uv_cache_dir)]
        lines: list[str] = []
        with subprocess.Popen(
            command,
            cwd=self.envs_dir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # uv and the builds it starts: one group to kill
        ) as process:
            assert process.stdout is not None
            output: queue.Queue[str | None] = queue.Queue()
            threading.Thread(target=_pump, args=(process.stdout, output), daemon=True).start()
            try:
                while (line := _next_line(output, build.should_stop)) is not None:
                    lines.append(line.rstrip())
                    build.log(f"uv: {lines[-1]}")
            except BaseException:
                os.killpg(process.pid, signal.SIGKILL)
                raise
        if process.returncode != 0:
            tail = "\n".join(lines[-25:])
            step = " ".join(args[:2] if args[0] == "pip" else args[:1])
            raise EnvironmentBuildError(
                f"Could not build the Python environment: uv {step} exited with status "
                f"{process.returncode}:\n{tail}"
            )

    @contextmanager
    def _lock(self, name: str, log: Log) -> Iterator[None]:
        locks = self.envs_dir / ".locks"
        locks.mkdir(parents=True, exist_ok=True)
        with open(locks / f"{name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                log(f"Waiting for another build of Python environment {name}.")
                fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def environment_key(executor: Executor, packages: list[_Package], shim: bool) -> str:
    recipe = {
        "recipe": RECIPE,
        "python": [sys.version, sys.executable],
        "executor": [executor.family, executor.version, list(executor.requirements)],
        "packages": [[p.path.name, p.digest] for p in packages],
        "shim": _shim_source_digest() if shim else None,
    }
    return hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()


def _complete(path: Path) -> bool:
    return (path / MARKER).is_file()


def _sha256(path: Path) -> str:
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _frozen_copy(package: _Package, directory: Path) -> str:
    """A private copy of the package with the bytes its key was made from."""
    directory.mkdir(parents=True, exist_ok=True)
    copy = directory / package.path.name
    shutil.copyfile(package.path, copy)
    if _sha256(copy) != package.digest:
        raise EnvironmentBuildError(f"{package.uri} changed while its environment was being built.")
    return str(copy)


def _marker(executor: Executor, packages: list[_Package], started: float) -> dict[str, object]:
    return {
        "executor": {"family": executor.family, "version": executor.version},
        "requirements": list(executor.requirements),
        "packages": [{"uri": p.uri, "sha256": p.digest} for p in packages],
        "python": sys.version.split()[0],
        "builtAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "buildSeconds": round(time.time() - started, 2),
    }


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


def _next_line(lines: queue.Queue[str | None], stop_requested: Callable[[], bool]) -> str | None:
    """The next line of uv's output; asks whether to stop while uv is quiet."""
    while True:
        if stop_requested():
            raise BuildStopped("The environment build was stopped.")
        try:
            return lines.get(timeout=0.2)
        except queue.Empty:
            continue


def uv_binary() -> str:
    from uv import find_uv_bin

    return str(find_uv_bin())


@cache
def pip_sources() -> tuple[str, ...]:
    """uv options for the package sources pip is configured with; uv does not read pip.conf.

    The service's own pip first; a service installed without pip asks the one on PATH.
    """
    on_path = shutil.which("pip3") or shutil.which("pip")
    for pip in [[sys.executable, "-m", "pip"], *([[on_path]] if on_path else [])]:
        try:
            listed = subprocess.run(
                [*pip, "config", "list"], capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.SubprocessError):
            continue
        if listed.returncode == 0:
            return tuple(uv_source_options(listed.stdout))
    return ()


def uv_source_options(pip_config_list: str) -> list[str]:
    """`pip config list` output -> --find-links / --index-url / --extra-index-url for uv.

    pip merges every index it knows and takes the best version; uv's unsafe-best-match does too.
    """
    values: dict[str, list[str]] = {}
    for line in pip_config_list.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            option = key.rsplit(".", 1)[-1]
            items = value.strip().strip("'\"").replace("\\n", " ").split()
            values.setdefault(option, []).extend(items)
    options: list[str] = []
    for link in dict.fromkeys(values.get("find-links", [])):
        if "://" in link or Path(link).is_dir():
            options += ["--find-links", link]
    indexes = values.get("index-url", [])[:1]  # pip lists :env: first, and the env wins
    extras = list(dict.fromkeys(values.get("extra-index-url", [])))
    options += [o for url in indexes for o in ("--index-url", url)]
    options += [o for url in extras for o in ("--extra-index-url", url)]
    if indexes or extras:
        options += ["--index-strategy", "unsafe-best-match"]
    return options


# -- the gs:// shim --------------------------------------------------------------------------


def _shim_source() -> bytes:
    return resources.files("vertexd.launch.gs_shim").joinpath(f"{SHIM}.py").read_bytes()


@cache
def _shim_source_digest() -> str:
    return hashlib.sha256(_shim_source()).hexdigest()


def install_gs_shim(venv: Path) -> None:
    """Install the gs:// shim into `venv` as a minimal distribution with an fsspec entry point.

    fsspec registers `fsspec.specs` entry points when it is imported, over its built-in "gs"
    and "gcs". Nothing is imported at interpreter start-up (no .pth file).
    """
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = venv / "lib" / version / "site-packages"
    info = f"{SHIM}-{SHIM_VERSION}.dist-info"
    target = f"{SHIM}:LocalBucketsFileSystem"
    files = {
        f"{SHIM}.py": _shim_source(),
        f"{info}/METADATA": (
            f"Metadata-Version: 2.1\nName: {SHIM}\nVersion: {SHIM_VERSION}\n"
            "Summary: gs:// as the local buckets of vertexd\n"
        ).encode(),
        f"{info}/entry_points.txt": f"[fsspec.specs]\ngs = {target}\ngcs = {target}\n".encode(),
        f"{info}/INSTALLER": b"vertexd\n",
    }
    record = [f"{name},sha256={_record_hash(data)},{len(data)}" for name, data in files.items()]
    files[f"{info}/RECORD"] = "".join(
        f"{line}\n" for line in [*record, f"{info}/RECORD,,"]
    ).encode()
    for name, data in files.items():
        (site / name).parent.mkdir(parents=True, exist_ok=True)
        (site / name).write_bytes(data)


def _record_hash(data: bytes) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
