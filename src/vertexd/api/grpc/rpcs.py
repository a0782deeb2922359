"""The RPCs vertexd answers, each a thin adapter onto the service the REST route calls.

Every call takes the request as the dict REST would have received and answers the dict REST
would have sent; the official message types (those google-cloud-aiplatform ships) come in
and go out around it (server.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from google.cloud.aiplatform_v1.types import (
    custom_job,
    hyperparameter_tuning_job,
    job_service,
    model,
    model_service,
    pipeline_service,
    training_pipeline,
)
from google.longrunning import operations_pb2
from google.protobuf import empty_pb2
from google.protobuf.message import Message

from vertexd.api.job_routes import JobResources, page
from vertexd.service.models import ModelService
from vertexd.service.operations import OperationService
from vertexd.store.listing import ListQuery

JOB_SERVICE = "google.cloud.aiplatform.v1.JobService"
PIPELINE_SERVICE = "google.cloud.aiplatform.v1.PipelineService"
MODEL_SERVICE = "google.cloud.aiplatform.v1.ModelService"
OPERATIONS = "google.longrunning.Operations"

Call = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass(frozen=True)
class Rpc:
    service: str
    method: str
    request: type[Message]
    response: type[Message]
    call: Call


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
        *model_rpcs(services.models),
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


def model_rpcs(models: ModelService) -> list[Rpc]:
    """The model calls REST has: get (also `ID@version`), list, delete."""

    def list_all(body: dict[str, Any]) -> dict[str, Any]:
        bodies, token = models.list(body.get("parent", ""), list_query(body))
        return page("models", [resource_body(b) for b in bodies], token)

    return [
        Rpc(
            MODEL_SERVICE,
            "GetModel",
            pb(model_service.GetModelRequest),
            pb(model.Model),
            lambda body: resource_body(models.get(name(body))),
        ),
        Rpc(
            MODEL_SERVICE,
            "ListModels",
            pb(model_service.ListModelsRequest),
            pb(model_service.ListModelsResponse),
            list_all,
        ),
        Rpc(
            MODEL_SERVICE,
            "DeleteModel",
            pb(model_service.DeleteModelRequest),
            OPERATION,
            lambda body: models.delete(name(body)),
        ),
    ]


def operation_rpcs(operations: OperationService) -> list[Rpc]:
    """Operations are done when answered, so waiting for one is getting it."""

    def get(body: dict[str, Any]) -> dict[str, Any]:
        return operations.get(name(body))

    return [
        Rpc(OPERATIONS, "GetOperation", operations_pb2.GetOperationRequest, OPERATION, get),
        Rpc(OPERATIONS, "WaitOperation", operations_pb2.WaitOperationRequest, OPERATION, get),
    ]


OPERATION: type[Message] = operations_pb2.Operation


def pb(kind: Any) -> type[Message]:
    """The protobuf class under a proto-plus message type."""
    raw: type[Message] = kind.pb()
    return raw


def name(body: dict[str, Any]) -> str:
    return str(body.get("name", ""))


def list_query(body: dict[str, Any]) -> ListQuery:
    return ListQuery(
        body.get("filter", ""),
        int(body.get("pageSize", 0)),
        body.get("pageToken", ""),
        body.get("orderBy", ""),
    )


def resource_body(answer: Any) -> dict[str, Any]:
    """A service answer as its body (a stored record or already a dict)."""
    body = getattr(answer, "body", answer)
    return dict(body)
