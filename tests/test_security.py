"""Issue 13's holes, each against a real `vertexd serve`: cross-site writes, DNS rebinding,
files outside the home, unauthenticated calls with a token set, an exposed bind without a
token, bad page sizes and metadata. Every refusal is in Vertex's error shape and stores
nothing."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import PARENT, SKLEARN, Server, free_port

pytestmark = pytest.mark.slow

JOBS = f"/v1/{PARENT}/customJobs"
EVIL = "http://evil.example"
# A valid job that cannot do anything: its package does not exist (it fails if it runs).
JOB = {
    "displayName": "cross-site",
    "jobSpec": {
        "workerPoolSpecs": [
            {
                "machineSpec": {"machineType": "n1-standard-4"},
                "replicaCount": "1",
                "pythonPackageSpec": {
                    "executorImageUri": SKLEARN,
                    "packageUris": ["gs://nowhere/missing-0.1-py3-none-any.whl"],
                    "pythonModule": "missing.task",
                },
            }
        ]
    },
}


def error_of(response: httpx.Response, http_status: int, status: str) -> str:
    """The message of a Vertex-shaped error with this status (asserted)."""
    assert response.status_code == http_status, response.text
    error = response.json()["error"]
    assert error["code"] == http_status and error["status"] == status, error
    return str(error["message"])


def job_count(server: Server, headers: dict[str, str] | None = None) -> int:
    answer = server.client.get(JOBS, headers=headers or {})
    answer.raise_for_status()
    return len(answer.json().get("customJobs", []))


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    home = tmp_path_factory.mktemp("token-home")
    (home / "token.txt").write_text("s3cret-token\n")
    running = Server(home, "--cpus", "64", "--auth-token-file", str(home / "token.txt"))
    running.start()
    yield running
    running.stop()


def test_a_cross_site_text_plain_post_is_refused_and_stores_nothing(server: Server) -> None:
    before = job_count(server)
    headers = {"Content-Type": "text/plain", "Origin": EVIL}
    answer = server.client.post(JOBS, content=str(JOB).encode(), headers=headers)
    assert "evil.example" in error_of(answer, 403, "PERMISSION_DENIED")
    referred = server.client.post(JOBS, json=JOB, headers={"Referer": f"{EVIL}/page"})
    error_of(referred, 403, "PERMISSION_DENIED")
    assert job_count(server) == before


def test_the_servers_own_origin_may_write_but_only_json(server: Server) -> None:
    own = {"Origin": server.url}
    form = {**own, "Content-Type": "application/x-www-form-urlencoded"}
    answer = server.client.post(JOBS, content=b"displayName=x", headers=form)
    assert "application/json" in error_of(answer, 415, "INVALID_ARGUMENT")
    bad = {"displayName": "bad", "jobSpec": {"workerPoolSpecs": []}}
    reached = server.client.post(JOBS, json=bad, headers=own)
    error_of(reached, 400, "INVALID_ARGUMENT")  # the route was reached: a validation error


def test_a_rebinding_host_is_refused_everywhere(server: Server) -> None:
    for path in (JOBS, "/", "/console/api/parents", "/openapi.json", "/healthz"):
        answer = server.client.get(path, headers={"Host": f"evil.example:{server.port}"})
        error_of(answer, 403, "PERMISSION_DENIED")
    for host in (f"localhost:{server.port}", f"127.0.0.1:{server.port}", f"[::1]:{server.port}"):
        assert server.client.get(JOBS, headers={"Host": host}).status_code == 200


def test_the_files_helper_lists_only_the_homes_folders(server: Server, tmp_path: Path) -> None:
    for uri in ("/etc", "file:///etc", str(tmp_path)):
        answer = server.client.get("/console/api/files", params={"uri": uri})
        error_of(answer, 403, "PERMISSION_DENIED")
    bucket = server.home / "buckets" / "files-bucket"
    (bucket / "run").mkdir(parents=True)
    (bucket / "run" / "model.txt").write_text("weights")
    (bucket / "run" / "escape").symlink_to("/etc/passwd")
    (bucket / "outside").symlink_to("/etc", target_is_directory=True)
    listed = server.client.get("/console/api/files", params={"uri": "gs://files-bucket/run"})
    assert [f["path"] for f in listed.json()["files"]] == ["model.txt"]
    linked = server.client.get("/console/api/files", params={"uri": "gs://files-bucket/outside"})
    error_of(linked, 403, "PERMISSION_DENIED")


def test_page_sizes_below_zero_are_invalid_and_above_the_maximum_clamped(server: Server) -> None:
    answer = server.client.get(JOBS, params={"pageSize": -5})
    assert "page_size" in error_of(answer, 400, "INVALID_ARGUMENT")
    assert server.client.get(JOBS, params={"pageSize": 100000}).status_code == 200


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"displayName": "x" * 129}, "display_name"),
        ({"labels": {"Team": "a"}}, "labels"),
        ({"labels": {"1team": "a"}}, "labels"),
        ({"labels": {"team": "A B"}}, "labels"),
        ({"labels": {"team": "v" * 65}}, "labels"),
        ({"labels": {f"k{i}": "v" for i in range(65)}}, "labels"),
    ],
)
def test_display_names_and_labels_follow_vertex_rules(
    server: Server, change: dict, field: str
) -> None:
    before = job_count(server)
    answer = server.create({**JOB, **change})
    assert error_of(answer, 400, "INVALID_ARGUMENT").startswith(field)
    assert job_count(server) == before


def test_international_labels_are_accepted(server: Server) -> None:
    job = {**JOB, "displayName": "é" * 128, "labels": {"équipe": "données-1_a"}}
    answer = server.create(job)
    assert answer.status_code == 200, answer.text
    assert answer.json()["labels"] == {"équipe": "données-1_a"}


def test_a_token_is_required_on_every_api_call(token_server: Server) -> None:
    for path in (JOBS, "/console/api/parents", "/v1/projects/p/locations/l/models"):
        answer = token_server.client.get(path)
        assert "Bearer" in error_of(answer, 401, "UNAUTHENTICATED")
        assert answer.headers["WWW-Authenticate"] == "Bearer"
    wrong = token_server.client.get(JOBS, headers={"Authorization": "Bearer guess"})
    error_of(wrong, 401, "UNAUTHENTICATED")
    posted = token_server.client.post(JOBS, json=JOB)
    error_of(posted, 401, "UNAUTHENTICATED")
    good = {"Authorization": "Bearer s3cret-token"}
    assert job_count(token_server, good) == 0
    # The console's page loads (and then asks for the token); health says nothing private.
    assert token_server.client.get("/").status_code == 200
    health = token_server.client.get("/healthz").json()
    assert health["status"] == "ok" and "home" not in health
    assert "home" in token_server.client.get("/healthz", headers=good).json()


def test_an_exposed_bind_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(tmp_path)]
    command += ["--host", "0.0.0.0", "--port", str(free_port())]
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTEXD_")}
    done = subprocess.run(command, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode != 0
    assert "--generate-token" in done.stderr and "--insecure-no-auth" in done.stderr


def test_generate_token_writes_a_private_token_the_exposed_server_requires(
    tmp_path: Path,
) -> None:
    running = Server(tmp_path, "--host", "0.0.0.0", "--generate-token")
    running.start()
    try:
        token_file = tmp_path / "auth-token"
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert str(token_file) in (tmp_path / "server.log").read_text()
        token = token_file.read_text().strip()
        assert len(token) >= 32
        error_of(running.client.get(JOBS), 401, "UNAUTHENTICATED")
        assert job_count(running, {"Authorization": f"Bearer {token}"}) == 0
    finally:
        running.stop()


def test_insecure_no_auth_lets_an_exposed_server_start_without_a_token(tmp_path: Path) -> None:
    running = Server(tmp_path, "--host", "0.0.0.0", "--insecure-no-auth")
    running.start()
    try:
        assert job_count(running) == 0
    finally:
        running.stop()
