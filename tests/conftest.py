"""Shared fixtures: a real `vertexd serve` process on a free port, tiny training packages, and
the databases the servers use.

Databases: the modules in BOTH_DATABASES (or marked `pytest.mark.both_databases`) run every
test twice, on SQLite and on PostgreSQL (test ids end in [sqlite] / [postgresql]). There,
each `Server` gets a new empty database of that kind unless it is given one (on SQLite: the
one in its home, as without a database URL), and `Settings()` made in the test process read
VERTEXD_DATABASE_URL, the module's database. A test that needs a database of its own asks
for `database_url` (a new empty one per test, on both kinds, in any module). PostgreSQL is
the server VERTEXD_TEST_POSTGRES_URL names, as `.ci/services/postgres.sh start` prints it;
without it the PostgreSQL runs are skipped, or fail in CI (CI=true).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import psutil
import pytest
from sqlalchemy import Engine, create_engine, make_url, text

# Every server the tests start shares one uv cache: environments are built from it, not PyPI.
os.environ.setdefault("UV_CACHE_DIR", str(Path(tempfile.gettempdir()) / "vertexd-tests-uv-cache"))

pytest_plugins = ["ray_support"]  # the shared Ray cluster fixture

PARENT = "projects/test-project/locations/us-central1"
SKLEARN = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"

DATABASES = ("sqlite", "postgresql")
POSTGRES_URL = "VERTEXD_TEST_POSTGRES_URL"
# Modules that run on both databases: module name -> its own module-scoped fixtures that make
# an app without asking for `database_kind` (or `module_database_url`); those are made anew
# for each database. A module may instead carry `pytestmark = pytest.mark.both_databases`.
BOTH_DATABASES: dict[str, tuple[str, ...]] = {
    "test_custom_jobs_api": ("api",),
    "test_custom_jobs_run": (),
    "test_recovery": (),
    "test_training_pipelines": (),
    "test_tuning_api": ("api",),
    "test_tuning_run": (),
}


def wait_exit_code(exit_file: Path, timeout: float = 30) -> int:
    """The exit code a replica runner records, once it has (within `timeout` seconds)."""
    from vertexd.backends.process_group import read_exit

    deadline = time.monotonic() + timeout
    while (code := read_exit(exit_file)) is None:
        assert time.monotonic() < deadline, f"no exit record in {exit_file}"
        time.sleep(0.02)
    return code


def wait_for_files(directory: Path, count: int, timeout: float = 60) -> dict[str, dict]:
    """The JSON records (pid or env files) `count` replicas wrote to `directory`, by name."""
    deadline = time.monotonic() + timeout
    while len(list(directory.glob("*.json"))) < count:
        assert time.monotonic() < deadline, list(directory.iterdir())
        time.sleep(0.05)
    return {p.stem: json.loads(p.read_text()) for p in directory.glob("*.json")}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# -- databases ------------------------------------------------------------------------------
def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI needs PostgreSQL for these tests: {reason}", pytrace=False)
    pytest.skip(
        f'no PostgreSQL ({reason}); start one with: eval "$(bash .ci/services/postgres.sh start)"'
    )


class PostgresServer:
    """The server VERTEXD_TEST_POSTGRES_URL names: makes and drops test databases on it."""

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        self.admin: Engine = create_engine(self.url, isolation_level="AUTOCOMMIT")

    def create(self) -> str:
        name = f"vertexd_test_{secrets.token_hex(6)}"
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        return self.url.set(database=name).render_as_string(hide_password=False)

    def drop(self, url: str) -> None:
        name = make_url(url).database
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


_postgres: PostgresServer | None = None


def postgres_server() -> PostgresServer:
    """The PostgreSQL server of this test session; skips (fails in CI) when there is none."""
    global _postgres
    if _postgres is None:
        url = os.environ.get(POSTGRES_URL, "")
        if not url:
            _unavailable(f"{POSTGRES_URL} is not set")
        server = PostgresServer(url)
        try:
            with server.admin.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as exc:  # noqa: BLE001 - any failure means no usable server
            server.admin.dispose()
            _unavailable(f"the server at {url} does not answer: {exc}")
        _postgres = server
    return _postgres


class _ModuleDatabases:
    """The kind of database the current module runs on, and the databases made for it (dropped
    when the module ends, after every server and app of the module is stopped)."""

    def __init__(self) -> None:
        self.kind = "sqlite"
        self.made: list[str] = []

    def for_server(self) -> str:
        """A database URL for a new `Server`: "" (the SQLite in its home) or a new one."""
        if self.kind == "sqlite":
            return ""
        url = postgres_server().create()
        self.made.append(url)
        return url


_module_databases = _ModuleDatabases()


def _both_databases(metafunc: pytest.Metafunc) -> tuple[str, ...] | None:
    """None if this test runs on SQLite only; else the fixtures to make anew per database."""
    name = metafunc.module.__name__.rsplit(".", 1)[-1]
    if name in BOTH_DATABASES:
        return BOTH_DATABASES[name]
    if metafunc.definition.get_closest_marker("both_databases") or "database_url" in (
        metafunc.fixturenames
    ):
        return ()
    return None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "both_databases: run the module's tests on SQLite and on PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    remade = _both_databases(metafunc)
    if remade is None or "database_kind" not in metafunc.fixturenames:
        return
    names = ["database_kind", *(n for n in remade if n in metafunc.fixturenames)]
    metafunc.parametrize(
        names,
        [pytest.param(*[kind] * len(names), id=kind) for kind in DATABASES],
        indirect=True,
        scope="module",
    )


@pytest.fixture(scope="module", autouse=True)
def _drop_module_databases() -> Iterator[None]:
    """Set up before and torn down after every other fixture of the module."""
    yield
    made, _module_databases.made = _module_databases.made, []
    for url in made:
        postgres_server().drop(url)


@pytest.fixture(scope="module")
def database_kind(request: pytest.FixtureRequest) -> str:
    """What the module's tests run on now: "sqlite" or "postgresql"."""
    kind = str(getattr(request, "param", "sqlite"))
    if kind == "postgresql":
        postgres_server()
    return kind


@pytest.fixture(scope="module", autouse=True)
def _module_database(database_kind: str) -> Iterator[None]:
    """Servers made in the module get a database of its kind; on PostgreSQL, so do the
    `Settings()` made in this process (VERTEXD_DATABASE_URL, one database for the module)."""
    _module_databases.kind = database_kind
    with pytest.MonkeyPatch.context() as patch:
        if database_kind == "postgresql":
            patch.setenv("VERTEXD_DATABASE_URL", _module_databases.for_server())
        yield
    _module_databases.kind = "sqlite"


@pytest.fixture(scope="module")
def module_database_url(
    database_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A new empty database for the module, of its kind (SQLite: a file)."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('db') / 'vertexd.db'}"
        return
    url = postgres_server().create()
    yield url
    _module_databases.made.append(url)  # dropped with the module, after its apps


@pytest.fixture
def database_url(database_kind: str, tmp_path: Path) -> Iterator[str]:
    """A new empty database for one test, on SQLite and on PostgreSQL."""
    if database_kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'vertexd.db'}"
        return
    server = postgres_server()
    url = server.create()
    yield url
    server.drop(url)


# -- container engines ------------------------------------------------------------------------
@pytest.fixture(scope="module", params=["docker", "podman"])
def container_engine(request: pytest.FixtureRequest) -> str:
    """The engine a module's container tests run on now (container_support.ENGINES): every
    test that asks for an engine runs on each, module by module (ids [docker] / [podman])."""
    return str(request.param)


# -- servers --------------------------------------------------------------------------------
class Server:
    """A `vertexd serve` subprocess; `restart(kill=True)` is a crash, not a shutdown.

    gRPC is off unless `grpc=True` (then on a free port of its own, `grpc_endpoint`) or
    `--grpc-port` is among the flags, so that servers running side by side never clash.

    `database_url`: "" is the SQLite database in `home`; None (the default) is "" on SQLite
    and a new empty database on PostgreSQL, in a module that runs on both. A restart keeps it.
    """

    def __init__(
        self,
        home: Path,
        *extra: str,
        env: dict[str, str] | None = None,
        database_url: str | None = None,
        grpc: bool = False,
    ) -> None:
        self.home, self.extra, self.env = home, extra, env or {}
        self.grpc_port = free_port() if grpc else 0
        if "--grpc-port" not in extra:
            self.extra = (*extra, "--grpc-port", str(self.grpc_port))
        self.grpc_endpoint = f"localhost:{self.grpc_port}"
        if database_url is None:
            given = "--database-url" in extra or "VERTEXD_DATABASE_URL" in self.env
            database_url = "" if given else _module_databases.for_server()
        self.database_url = database_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None
        self.client = httpx.Client(base_url=self.url, timeout=30)

    def start(self) -> None:
        command = [sys.executable, "-m", "vertexd", "serve", "--port", str(self.port)]
        if self.database_url:
            command += ["--database-url", self.database_url]
        self.home.mkdir(parents=True, exist_ok=True)
        log = (self.home / "server.log").open("ab")
        env = {**os.environ, "VERTEXD_HOME": str(self.home), **self.env}
        if "VERTEXD_DATABASE_URL" not in self.env:
            env.pop("VERTEXD_DATABASE_URL", None)  # that is for apps in this process
        self.process = subprocess.Popen(
            [*command, "--home", str(self.home), *self.extra], stdout=log, stderr=log, env=env
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if self.client.get("/healthz").status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError(self.log_tail(chars=None))

    @property
    def engine(self) -> psutil.Process:
        """The server's engine process (engine/process.py), which runs the jobs."""
        assert self.process is not None
        (engine,) = [
            child
            for child in psutil.Process(self.process.pid).children()
            if "vertexd.engine" in " ".join(child.cmdline())
        ]
        return engine

    def log_tail(self, chars: int | None = 3000) -> str:
        """The end of the server's own log (all of it with None), for failure messages."""
        text = (self.home / "server.log").read_text(errors="replace")
        return text if chars is None else text[-chars:]

    def stop(self, kill: bool = False) -> None:
        if self.process is None:
            return
        self.process.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
        self.process.wait(timeout=60)
        self.process = None

    def restart(self, kill: bool = False) -> None:
        self.stop(kill)
        self.start()

    # -- REST helpers ----------------------------------------------------------------------
    def create(self, job: dict, parent: str = PARENT) -> httpx.Response:
        return self.client.post(f"/v1/{parent}/customJobs", json=job)

    def get(self, name: str) -> dict:
        response = self.client.get(f"/v1/{name}")
        response.raise_for_status()
        return dict(response.json())

    def wait_for(self, name: str, *states: str, timeout: float = 120) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(name)
            if job["state"] in states:
                return job
            time.sleep(0.05)
        raise AssertionError(f"{name} never reached {states}: {job}")

    def logs(self, name: str, task: str | None = None) -> list[dict]:
        params = {"taskName": task} if task else {}
        response = self.client.get(f"/v1/{name}/logs", params=params)
        response.raise_for_status()
        return list(response.json()["entries"])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, database_kind: str) -> Iterator[Server]:
    """One server for the module, on each of its databases in turn."""
    running = Server(tmp_path_factory.mktemp("home"), "--cpus", "64", "--memory-gb", "4096")
    running.start()
    yield running
    running.stop()


def write_wheel(
    directory: Path,
    name: str,
    modules: dict[str, str],
    version: str = "0.1",
    requires: list[str] | None = None,
) -> Path:
    """A pure-Python wheel made by hand: modules {"pkg/task.py": source}."""
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / f"{name}-{version}-py3-none-any.whl"
    info = f"{name}-{version}.dist-info"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, source in modules.items():
            archive.writestr(path, source)
        metadata = f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n"
        metadata += "".join(f"Requires-Dist: {r}\n" for r in requires or [])
        archive.writestr(f"{info}/METADATA", metadata)
        archive.writestr(
            f"{info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        records = [*modules, f"{info}/METADATA", f"{info}/WHEEL"]
        archive.writestr(
            f"{info}/RECORD", "".join(f"{p},,\n" for p in records) + f"{info}/RECORD,,\n"
        )
    return wheel


def python_job(
    module: str, package_uri: str, args: list[str] | None = None, **spec: object
) -> dict:
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": SKLEARN,
            "packageUris": [package_uri],
            "pythonModule": module,
            "args": args or [],
        },
    }
    return {"displayName": f"test-{module}", "jobSpec": {"workerPoolSpecs": [pool], **spec}}
