"""The guard middleware on a small real ASGI app (no server process): per-job credentials for
the storage paths, the Host and Origin rules, body types and sizes."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request
from fastapi.testclient import TestClient

from vertexd.api.guard import JOB, Guard
from vertexd.api.guard_policy import GuardConfig, guard_config, host_name, origin_of
from vertexd.core.job_credentials import JobCredentials, job_endpoint
from vertexd.settings import Settings

TOKEN = "user-token"


def echo_app() -> FastAPI:
    app = FastAPI()

    @app.api_route("/storage/v1/b/{bucket}/o", methods=["GET", "POST"])
    async def objects(bucket: str, request: Request) -> dict[str, object]:
        body = await request.body()
        return {"bucket": bucket, "job": request.scope.get(JOB), "bytes": len(body)}

    @app.post("/upload/storage/v1/b/{bucket}/o")
    async def upload(bucket: str, request: Request) -> dict[str, object]:
        return {"bytes": len(await request.body())}

    @app.post("/v1/things")
    async def create(request: Request) -> dict[str, object]:
        return {"bytes": len(await request.body())}

    return app


@pytest.fixture
def credentials() -> JobCredentials:
    return JobCredentials()


@pytest.fixture
def client(credentials: JobCredentials) -> Iterator[TestClient]:
    config = GuardConfig(
        hosts=frozenset({"127.0.0.1", "localhost"}),
        token=TOKEN,
        credentials=credentials,
        max_body_bytes=1024,
    )
    app = echo_app()
    app.add_middleware(Guard, config=config)
    with TestClient(app, base_url="http://127.0.0.1:8080") as running:
        yield running


def test_a_job_secret_in_the_path_reaches_storage_as_that_job(
    client: TestClient, credentials: JobCredentials
) -> None:
    secret = credentials.issue("job-1")
    answer = client.get(f"/_job/{secret}/storage/v1/b/data/o")
    assert answer.status_code == 200
    assert answer.json() == {"bucket": "data", "job": "job-1", "bytes": 0}
    # Replicas in containers may name the host differently: the secret is proof enough.
    elsewhere = client.get(f"/_job/{secret}/storage/v1/b/data/o", headers={"Host": "host-gw"})
    assert elsewhere.status_code == 200


def test_a_job_secret_as_bearer_works_on_storage_paths_only(
    client: TestClient, credentials: JobCredentials
) -> None:
    secret = credentials.issue("job-2")
    headers = {"Authorization": f"Bearer {secret}"}
    assert client.get("/storage/v1/b/data/o", headers=headers).json()["job"] == "job-2"
    refused = client.post("/v1/things", json={}, headers=headers)
    assert refused.status_code == 401
    assert refused.json()["error"]["status"] == "UNAUTHENTICATED"
    # The secret path prefix is for storage paths only.
    assert client.post(f"/_job/{secret}/v1/things", json={}).status_code == 401


def test_a_secret_whose_news_comes_late_is_waited_for(
    client: TestClient, credentials: JobCredentials
) -> None:
    # The engine tells of a job's secret before the job's replicas start, and the server
    # takes the news in another thread: a replica's first call may come first.
    secret = "s" * 64
    late = threading.Timer(0.2, credentials.register, ("job-late", secret))
    late.start()
    try:
        answer = client.get(f"/_job/{secret}/storage/v1/b/data/o")
    finally:
        late.join()
    assert answer.status_code == 200, answer.text
    assert answer.json()["job"] == "job-late"


def test_a_revoked_or_unknown_secret_is_refused(
    client: TestClient, credentials: JobCredentials
) -> None:
    secret = credentials.issue("job-3")
    credentials.revoke("job-3")
    for path in (f"/_job/{secret}/storage/v1/b/data/o", "/_job/guess/storage/v1/b/data/o"):
        answer = client.get(path)
        assert answer.status_code == 401
        assert answer.json()["error"] == {
            "code": 401,
            "message": "Unknown or expired job credential.",
            "status": "UNAUTHENTICATED",
        }


def test_the_user_token_still_works_on_storage(client: TestClient) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    answer = client.get("/storage/v1/b/data/o", headers=headers)
    assert answer.status_code == 200 and answer.json()["job"] is None
    assert client.get("/storage/v1/b/data/o").status_code == 401


def test_bodies_json_only_and_bounded_except_storage_uploads(client: TestClient) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    text = client.post("/v1/things", content=b"{}", headers={**auth, "Content-Type": "text/plain"})
    assert text.status_code == 415 and text.json()["error"]["code"] == 415
    large = client.post("/v1/things", json={"x": "a" * 2000}, headers=auth)
    assert large.status_code == 413 and large.json()["error"]["status"] == "INVALID_ARGUMENT"
    chunked = client.post("/v1/things", content=iter([b"[", b"1," * 600, b"1]"]), headers=auth)
    assert chunked.status_code == 413
    binary = {**auth, "Content-Type": "application/octet-stream"}
    upload = client.post("/upload/storage/v1/b/data/o", content=b"x" * 4096, headers=binary)
    assert upload.status_code == 200 and upload.json() == {"bytes": 4096}
    metadata = client.post("/storage/v1/b/data/o", content=b"x", headers=binary)
    assert metadata.status_code == 200  # storage keeps its own types


def test_host_and_origin_names_are_normalised() -> None:
    assert host_name("Example.COM:8080") == "example.com"
    assert host_name("[::1]:8080") == "::1"
    assert host_name("::1") == "::1"
    assert origin_of("http://localhost:80/x?y") == "http://localhost"
    assert origin_of("https://[::1]:8443/") == "https://[::1]:8443"
    assert origin_of("null") is None


def test_allowed_hosts_and_origins_come_from_settings(tmp_path) -> None:
    settings = Settings(
        home=tmp_path,
        allowed_hosts=["Vertex.Team.Example"],
        allow_origins=["https://ui.example:8443/"],
    )
    config = guard_config(settings)
    assert config.host_allowed("vertex.team.example:8080")
    assert config.host_allowed("[::1]:8080") and not config.host_allowed("evil.example")
    assert config.origins == frozenset({"https://ui.example:8443"})
    assert guard_config(Settings(home=tmp_path, allowed_hosts=["*"])).host_allowed("any.where")


def test_a_jobs_endpoint_carries_its_secret(
    client: TestClient, credentials: JobCredentials
) -> None:
    endpoint = job_endpoint("http://127.0.0.1:8080/", credentials.issue("job-4"))
    assert endpoint.startswith("http://127.0.0.1:8080/_job/")
    answer = client.get(endpoint + "/storage/v1/b/data/o")
    assert answer.status_code == 200 and answer.json()["job"] == "job-4"


@pytest.fixture
def cors_client(tmp_path) -> Iterator[TestClient]:
    settings = Settings(home=tmp_path, allow_origins=["https://ui.example:8443"])
    app = echo_app()
    app.add_middleware(Guard, config=guard_config(settings))
    with TestClient(app, base_url="http://localhost:8080") as running:
        yield running


def test_a_listed_origin_gets_cors_answers_and_may_write(cors_client: TestClient) -> None:
    preflight = cors_client.options(
        "/v1/things",
        headers={
            "Origin": "https://ui.example:8443",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://ui.example:8443"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"] == "authorization, content-type"
    posted = cors_client.post("/v1/things", json={}, headers={"Origin": "https://ui.example:8443"})
    assert posted.status_code == 200
    assert posted.headers["Access-Control-Allow-Origin"] == "https://ui.example:8443"


def test_other_origins_get_no_cors_and_may_not_write(cors_client: TestClient) -> None:
    other = {"Origin": "https://ui.example:9999", "Access-Control-Request-Method": "POST"}
    preflight = cors_client.options("/v1/things", headers=other)
    assert preflight.status_code == 403
    assert "Access-Control-Allow-Origin" not in preflight.headers
    posted = cors_client.post("/v1/things", json={}, headers={"Origin": "https://ui.example:9999"})
    assert posted.status_code == 403 and posted.json()["error"]["status"] == "PERMISSION_DENIED"
    # Reads are not refused (the browser keeps the answer from the page: no CORS header).
    read = cors_client.get("/storage/v1/b/x/o", headers={"Origin": "https://ui.example:9999"})
    assert read.status_code == 200 and "Access-Control-Allow-Origin" not in read.headers


def test_a_secret_can_be_registered_again_after_a_restart() -> None:
    before = JobCredentials()
    secret = before.issue("job-5")
    after = JobCredentials()  # a new server: nothing known
    assert after.job_for(secret) is None
    after.register("job-5", secret)  # the recovery hands back what the job was given
    assert after.job_for(secret) == "job-5"
    with pytest.raises(ValueError):
        after.register("job-6", "short")
