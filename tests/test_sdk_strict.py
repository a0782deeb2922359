"""Google's Python SDK (google-cloud-aiplatform, REST transport) sees vertexd's refusal of an
unknown field as Vertex's: a google.api_core BadRequest with the BadRequest detail."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as api_exceptions
from google.auth.credentials import AnonymousCredentials
from google.cloud import aiplatform
from google.cloud.aiplatform import utils
from google.cloud.aiplatform.compat.types import training_pipeline as gca_training_pipeline
from google.protobuf import json_format, struct_pb2

from conftest import SKLEARN, Server

pytestmark = pytest.mark.slow

CUSTOM_TASK = "gs://google-cloud-aiplatform/schema/trainingjob/definition/custom_task_1.0.0.yaml"
AT = "training_pipeline.training_task_inputs.worker_pool_specs[0]"


def test_the_sdk_raises_bad_request_naming_the_unknown_field(server: Server) -> None:
    aiplatform.init(
        project="sdk-strict",
        location="us-central1",
        api_endpoint=server.url,
        api_transport="rest",
        credentials=AnonymousCredentials(),
    )
    inputs = {
        "worker_pool_specs": [
            {
                "machine_spec": {"machine_type": "n1-standard-4"},
                "replica_count": 1,
                "replica_cuont": 2,  # misspelt
                "python_package_spec": {
                    "executor_image_uri": SKLEARN,
                    "package_uris": ["gs://test-bucket/p.whl"],
                    "python_module": "trainer.task",
                },
            }
        ]
    }
    pipeline = gca_training_pipeline.TrainingPipeline(
        display_name="sdk-strict",
        training_task_definition=CUSTOM_TASK,
        training_task_inputs=json_format.ParseDict(inputs, struct_pb2.Value()),
    )
    client = aiplatform.initializer.global_config.create_client(
        client_class=utils.PipelineClientWithOverride, location_override="us-central1"
    )
    parent = "projects/sdk-strict/locations/us-central1"
    with pytest.raises(api_exceptions.BadRequest) as raised:
        client.create_training_pipeline(parent=parent, training_pipeline=pipeline)
    wanted = (
        f"Invalid JSON payload received. Unknown name \"replica_cuont\" at '{AT}': "
        "Cannot find field."
    )
    assert raised.value.code == 400
    assert raised.value.message.endswith(f": {wanted}")  # after the SDK's "POST <url>"
    assert raised.value.details == [  # the REST transport hands details over as JSON
        {
            "@type": "type.googleapis.com/google.rpc.BadRequest",
            "fieldViolations": [{"field": AT, "description": wanted}],
        }
    ]
    assert (
        server.client.get(f"/v1/{parent}/trainingPipelines").json().get("trainingPipelines", [])
        == []
    )
