"""The gRPC endpoint with Google's GAPIC clients, created as Google's samples create them:
the same answers and errors as REST, paging and filters, the delete Operation, tokens,
plaintext mode, and the private CA a client trusts with one setting."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform
from google.cloud.aiplatform_v1.services.job_service.transports import JobServiceGrpcTransport
from google.oauth2.credentials import Credentials
from google.protobuf import json_format
from google.rpc import error_details_pb2

from conftest import PARENT, SKLEARN, Server, free_port
from grpc_support import grpc_server

pytestmark = pytest.mark.slow


CUSTOM_TASK = "gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml"


def job(display_name: str, machine_type: str = "n1-standard-4", **labels: str) -> dict:
    """A valid job that fails as soon as it runs: its package does not exist."""
    pool = {
        "machine_spec": {"machine_type": machine_type},
        "replica_count": 1,
        "python_package_spec": {
            "executor_image_uri": SKLEARN,
            "package_uris": ["gs://test-bucket/missing/none-0.1-py3-none-any.whl"],
            "python_module": "none.task",
        },
    }
    return {
        "display_name": display_name,
        "labels": labels,
        "job_spec": {"worker_pool_specs": [pool]},
    }


def rest_body(body: dict) -> dict:
    """The same job in REST's JSON (lowerCamelCase)."""
    return json_format.MessageToDict(aiplatform.gapic.CustomJob(body)._pb)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = grpc_server(tmp_path_factory.mktemp("home"))
    yield running
    running.stop()


@pytest.fixture(scope="module")
def jobs(server: Server) -> aiplatform.gapic.JobServiceClient:
    client_options = {"api_endpoint": server.grpc_endpoint}
    return aiplatform.gapic.JobServiceClient(
        client_options=client_options, credentials=AnonymousCredentials()
    )


def wait_ended(client: aiplatform.gapic.JobServiceClient, name: str) -> aiplatform.gapic.CustomJob:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = client.get_custom_job(name=name)
        if found.state == aiplatform.gapic.JobState.JOB_STATE_FAILED:
            return found
        time.sleep(0.1)
    raise AssertionError(f"{name} is still {found.state.name}")


def test_create_get_list_pages_and_delete(
    server: Server, jobs: aiplatform.gapic.JobServiceClient
) -> None:
    made = [
        jobs.create_custom_job(parent=PARENT, custom_job=job(f"page-{i}", batch="b1"))
        for i in range(3)
    ]
    assert made[0].state == aiplatform.gapic.JobState.JOB_STATE_QUEUED
    ended = wait_ended(jobs, made[0].name)
    assert ended.error.message  # why it failed, as REST says it
    rest = server.get(made[0].name)
    assert ended.error.message == rest["error"]["message"]
    assert ended.create_time.isoformat().startswith(rest["createTime"][:19])
    for one in made[1:]:
        wait_ended(jobs, one.name)
    pager = jobs.list_custom_jobs(
        request={"parent": PARENT, "filter": 'labels.batch="b1"', "page_size": 2}
    )
    pages = [[j.name for j in page.custom_jobs] for page in pager.pages]
    assert [len(p) for p in pages] == [2, 1]
    assert sorted(sum(pages, [])) == sorted(j.name for j in made)
    named = jobs.list_custom_jobs(request={"parent": PARENT, "filter": 'display_name="page-1"'})
    assert [j.name for j in named] == [made[1].name]
    operation = jobs.delete_custom_job(name=made[2].name)
    operation.result(timeout=10)  # done when answered
    polled = jobs.get_operation(request={"name": operation.operation.name})
    assert polled.done and polled.name == operation.operation.name
    with pytest.raises(api_exceptions.NotFound):
        jobs.get_custom_job(name=made[2].name)


def test_errors_are_status_codes_with_rests_messages(
    server: Server, jobs: aiplatform.gapic.JobServiceClient
) -> None:
    bad = job("bad", machine_type="n9-nothing-1")
    rest = server.create(rest_body(bad)).json()["error"]
    with pytest.raises(api_exceptions.InvalidArgument) as raised:
        jobs.create_custom_job(parent=PARENT, custom_job=bad)
    assert raised.value.message == rest["message"]
    assert "job_spec.worker_pool_specs[0].machine_spec.machine_type" in raised.value.message
    missing = f"{PARENT}/customJobs/404"
    rest_missing = server.client.get(f"/v1/{missing}").json()["error"]["message"]
    with pytest.raises(api_exceptions.NotFound, match="was not found") as raised_missing:
        jobs.get_custom_job(name=missing)
    assert raised_missing.value.message == rest_missing
    with pytest.raises(api_exceptions.InvalidArgument):
        jobs.list_custom_jobs(request={"parent": PARENT, "page_size": -5})


def test_rests_bad_request_details_come_as_grpc_details(server: Server) -> None:
    pipelines = aiplatform.gapic.PipelineServiceClient(
        client_options={"api_endpoint": server.grpc_endpoint}, credentials=AnonymousCredentials()
    )
    inputs = {"worker_pool_specs": job("x")["job_spec"]["worker_pool_specs"], "bogus": 1}
    pipeline = {
        "display_name": "bogus",
        "training_task_definition": CUSTOM_TASK,
        "training_task_inputs": inputs,
    }
    as_json = json_format.MessageToDict(aiplatform.gapic.TrainingPipeline(pipeline)._pb)
    rest = server.client.post(f"/v1/{PARENT}/trainingPipelines", json=as_json).json()["error"]
    assert rest["details"], "REST names the field in a BadRequest"
    with pytest.raises(api_exceptions.InvalidArgument) as raised:
        pipelines.create_training_pipeline(parent=PARENT, training_pipeline=pipeline)
    assert raised.value.message == rest["message"]
    [details] = [d for d in raised.value.details if isinstance(d, error_details_pb2.BadRequest)]
    violations = [
        {"field": v.field, "description": v.description} for v in details.field_violations
    ]
    assert violations == rest["details"][0]["fieldViolations"]


def test_cancel_of_an_ended_job_is_a_failed_precondition(
    jobs: aiplatform.gapic.JobServiceClient,
) -> None:
    made = jobs.create_custom_job(parent=PARENT, custom_job=job("ends"))
    wait_ended(jobs, made.name)
    with pytest.raises(api_exceptions.FailedPrecondition, match="already in state"):
        jobs.cancel_custom_job(name=made.name)


def test_pipeline_and_model_services_answer(server: Server) -> None:
    client_options = {"api_endpoint": server.grpc_endpoint}
    anonymous = AnonymousCredentials()
    pipelines = aiplatform.gapic.PipelineServiceClient(
        client_options=client_options, credentials=anonymous
    )
    models = aiplatform.gapic.ModelServiceClient(
        client_options=client_options, credentials=anonymous
    )
    empty = "projects/nobody/locations/us-central1"
    assert list(pipelines.list_training_pipelines(parent=empty)) == []
    assert list(models.list_models(parent=empty)) == []
    with pytest.raises(api_exceptions.NotFound):
        pipelines.get_training_pipeline(name=f"{empty}/trainingPipelines/1")
    with pytest.raises(api_exceptions.NotFound):
        models.get_model(name=f"{empty}/models/1")
    with pytest.raises(api_exceptions.MethodNotImplemented):
        pipelines.list_pipeline_jobs(parent=empty)  # an RPC vertexd does not have


def test_a_wrong_token_is_unauthenticated(tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    token_file.write_text("the-right-token\n")
    secured = grpc_server(tmp_path / "home", "--auth-token-file", str(token_file))
    try:
        endpoint = {"api_endpoint": secured.grpc_endpoint}
        for credentials in (Credentials(token="a-wrong-token"), AnonymousCredentials()):
            client = aiplatform.gapic.JobServiceClient(
                client_options=endpoint, credentials=credentials
            )
            with pytest.raises(api_exceptions.Unauthenticated, match="Bearer TOKEN"):
                client.list_custom_jobs(parent=PARENT)
        client = aiplatform.gapic.JobServiceClient(
            client_options=endpoint, credentials=Credentials(token="the-right-token")
        )
        assert list(client.list_custom_jobs(parent=PARENT)) == []
    finally:
        secured.stop()


def test_plaintext_with_an_insecure_channel(tmp_path: Path) -> None:
    plain = Server(tmp_path / "home", "--grpc-insecure", grpc=True)
    plain.start()
    try:
        channel = grpc.insecure_channel(plain.grpc_endpoint)
        client = aiplatform.gapic.JobServiceClient(
            transport=JobServiceGrpcTransport(channel=channel)
        )
        made = client.create_custom_job(parent=PARENT, custom_job=job("plain"))
        assert client.get_custom_job(name=made.name).display_name == "plain"
        assert not (plain.home / "tls").exists()
    finally:
        plain.stop()


SAMPLE = """
import sys
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform

client_options = {"api_endpoint": sys.argv[1]}
client = aiplatform.gapic.JobServiceClient(
    client_options=client_options, credentials=AnonymousCredentials()
)
try:
    print(len(list(client.list_custom_jobs(parent=sys.argv[2], timeout=20))))
except Exception as error:
    print(type(error).__name__)
"""


def run_sample(server: Server, ca: Path | None) -> str:
    """The sample's output in a new process, trusting `ca` (None: only the system's roots)."""
    env = {k: v for k, v in os.environ.items() if k != "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"}
    if ca is not None:
        env["GRPC_DEFAULT_SSL_ROOTS_FILE_PATH"] = str(ca)
    done = subprocess.run(
        [sys.executable, "-c", SAMPLE, server.grpc_endpoint, PARENT],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return done.stdout.strip()


def test_the_private_ca_is_made_kept_and_trusted_with_one_setting(tmp_path: Path) -> None:
    own = Server(tmp_path / "home", grpc=True)  # no CA given: it makes one
    own.start()
    try:
        ca = own.home / "tls" / "ca.pem"
        made = ca.read_bytes()
        assert run_sample(own, ca) == "0"
        assert run_sample(own, None) == "ServiceUnavailable"  # not trusted without it
        own.restart()
        assert ca.read_bytes() == made
        assert run_sample(own, ca) == "0"
    finally:
        own.stop()


def test_a_busy_grpc_port_refuses_to_start(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        busy = holder.getsockname()[1]
        command = [sys.executable, "-m", "vertexd", "serve", "--home", str(tmp_path)]
        command += ["--port", str(free_port()), "--grpc-port", str(busy)]
        done = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "Cannot listen for gRPC" in done.stderr and "--grpc-port" in done.stderr
    assert "Traceback" not in done.stderr
