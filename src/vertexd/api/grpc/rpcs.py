"""The RPCs vertexd answers, each a thin adapter onto the service the REST route calls.

Every call takes the request as the dict REST would have received and answers the dict REST
would have sent; the official message types (those google-cloud-aiplatform ships) come in
and go out around it (server.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from google.cloud.aiplatform_v1.types import (
    custom_job,
    hyperparameter_tuning_job,
    job_service,
    pipeline_service,
    training_pipeline,
)
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from vertexd.api.grpc.messages import OPERATION, Rpc, list_query, name, pb
from vertexd.api.grpc.model_rpcs import model_rpcs
from vertexd.api.job_routes import JobResources, page
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService

JOB_SERVICE = "google.cloud.aiplatform.v1.JobService"
PIPELINE_SERVICE = "google.cloud.aiplatform.v1.PipelineService"
OPERATIONS = "google.longrunning.Operations"


@dataclass(frozen=True)
class Services:
    custom_jobs: JobResources
    tuning_jobs: JobResources
    pipelines: JobResources
    models: ModelService
    operations: OperationService


def all_rpcs(services: Services) -> list[Rpc]:
    return [
        *job_rpcs(JOB_SERVICE, "CustomJob", custom_job.CustomJob, services.custom_jobs),
        *job_rpcs(
            JOB_SERVICE,
            "HyperparameterTuningJob",
            hyperparameter_tuning_job.HyperparameterTuningJob,
            services.tuning_jobs,
        ),
        *job_rpcs(
            PIPELINE_SERVICE,
            "TrainingPipeline",
            training_pipeline.TrainingPipeline,
            services.pipelines,
        ),
        *model_rpcs(services.models),  # model_rpcs.py
        *operation_rpcs(services.operations),
    ]


def job_rpcs(service: str, kind: str, resource: Any, jobs: JobResources) -> list[Rpc]:
    """Create/Get/List/Cancel/Delete<kind>, as REST's job_routes answers them."""
    types = job_service if service == JOB_SERVICE else pipeline_service
    field = kind[0].lower() + kind[1:]  # the create request's field: customJob, ...
    collection = field + "s"  # the list answer's field: customJobs, ...

    def request(verb: str) -> type[Message]:
        return pb(getattr(types, f"{verb}{kind}Request"))

    def create(body: dict[str, Any]) -> dict[str, Any]:
        return jobs.create(body.get("parent", ""), body.get(field, {}))

    def list_all(body: dict[str, Any]) -> dict[str, Any]:
        bodies, token = jobs.list(body.get("parent", ""), list_query(body))
        return page(collection, bodies, token)

    def cancel(body: dict[str, Any]) -> dict[str, Any]:
        jobs.cancel(body.get("name", ""))
        return {}

    listed = pb(getattr(types, f"List{kind}sResponse"))
    return [
        Rpc(service, f"Create{kind}", request("Create"), pb(resource), create),
        Rpc(service, f"Get{kind}", request("Get"), pb(resource), lambda b: jobs.get(name(b)).body),
        Rpc(service, f"List{kind}s", pb(getattr(types, f"List{kind}sRequest")), listed, list_all),
        Rpc(service, f"Cancel{kind}", request("Cancel"), empty_pb2.Empty, cancel),
        Rpc(service, f"Delete{kind}", request("Delete"), OPERATION, lambda b: jobs.delete(name(b))),
    ]


def operation_rpcs(operations: OperationService) -> list[Rpc]:
    """Operations are done when answered, so waiting for one is getting it."""

    def get(body: dict[str, Any]) -> dict[str, Any]:
        return operations.get(name(body))

    return [
        Rpc(OPERATIONS, "GetOperation", operations_pb2.GetOperationRequest, OPERATION, get),
        Rpc(OPERATIONS, "WaitOperation", operations_pb2.WaitOperationRequest, OPERATION, get),
    ]
