"""Models and their versions through Google's own Python SDK (google-cloud-aiplatform):
`Model.upload` (also with `parent_model`), `Model(version=...)`, `Model.versioning_registry`,
and training pipelines that upload with `model_id` and `parent_model`."""

from __future__ import annotations

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import aiplatform

from conftest import SKLEARN, Server
from probe_package import probe_wheel
from test_sdk_python import PROBE, SERVING, use

pytestmark = pytest.mark.slow

LOCATION = "projects/sdk-project/locations/us-central1"


@pytest.fixture(scope="module")
def sdk_server(server: Server) -> Server:
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    use(server)
    return server


def test_upload_then_a_new_version_then_read_them(sdk_server: Server) -> None:
    model = aiplatform.Model.upload(
        display_name="sdk-model",
        artifact_uri="gs://test-bucket/sdk-model/1",
        serving_container_image_uri=SERVING,
        model_id="sdk-model",
    )
    assert model.resource_name == f"{LOCATION}/models/sdk-model"
    assert model.version_id == "1" and list(model.version_aliases) == ["default"]
    assert model.uri == "gs://test-bucket/sdk-model/1"
    assert model.container_spec.image_uri == SERVING

    second = aiplatform.Model.upload(
        display_name="sdk-model",
        artifact_uri="gs://test-bucket/sdk-model/2",
        serving_container_image_uri=SERVING,
        parent_model=model.resource_name,
        version_aliases=["candidate"],
        version_description="the second one",
    )
    assert second.resource_name == model.resource_name and second.version_id == "2"
    assert set(second.version_aliases) == {"default", "candidate"}
    third = aiplatform.Model.upload(
        display_name="sdk-model",
        artifact_uri="gs://test-bucket/sdk-model/3",
        serving_container_image_uri=SERVING,
        parent_model="sdk-model",
        is_default_version=False,
    )
    assert third.version_id == "3"

    assert aiplatform.Model("sdk-model").version_id == "2"  # the default version
    first = aiplatform.Model(model_name="sdk-model", version="1")
    assert first.version_id == "1" and first.uri == "gs://test-bucket/sdk-model/1"
    assert aiplatform.Model(f"{LOCATION}/models/sdk-model@candidate").version_id == "2"
    assert aiplatform.Model("sdk-model@3").uri == "gs://test-bucket/sdk-model/3"

    registry = model.versioning_registry
    versions = registry.list_versions()
    assert [v.version_id for v in versions] == ["1", "2", "3"]
    assert {v.model_resource_name for v in versions} == {model.resource_name}
    info = registry.get_version_info("2")
    assert info.version_description == "the second one"
    assert set(info.version_aliases) == {"default", "candidate"}
    assert info.model_display_name == "sdk-model" and info.version_create_time

    registry.add_version_aliases(["prod"], version="3")
    assert "prod" in registry.get_version_info("3").version_aliases
    registry.remove_version_aliases(["candidate"], version="2")
    assert list(registry.get_version_info("2").version_aliases) == ["default"]
    registry.delete_version("1")
    assert [v.version_id for v in registry.list_versions()] == ["2", "3"]
    with pytest.raises(api_exceptions.NotFound):
        aiplatform.Model(model_name="sdk-model", version="1")


def test_upload_with_a_taken_id_raises_conflict(sdk_server: Server) -> None:
    """api_core turns an HTTP 409 into Conflict (a real Vertex's ALREADY_EXISTS is too)."""
    kwargs = {"artifact_uri": "gs://test-bucket/x", "serving_container_image_uri": SERVING}
    aiplatform.Model.upload(display_name="taken", model_id="sdk-taken", **kwargs)
    with pytest.raises(api_exceptions.Conflict, match="already exists"):
        aiplatform.Model.upload(display_name="again", model_id="sdk-taken", **kwargs)


def test_pipelines_upload_with_model_id_then_as_a_new_version(sdk_server: Server) -> None:
    def training() -> aiplatform.CustomPythonPackageTrainingJob:
        return aiplatform.CustomPythonPackageTrainingJob(
            display_name="sdk-versions",
            python_package_gcs_uri=PROBE,
            python_module_name="probe.task",
            container_uri=SKLEARN,
            model_serving_container_image_uri=SERVING,
        )

    run = {"replica_count": 1, "machine_type": "n1-standard-4", "args": ["--say", "v"]}
    first = training().run(
        model_id="sdk-trained", base_output_dir="gs://test-bucket/trained/1", **run
    )
    assert first.resource_name == f"{LOCATION}/models/sdk-trained"
    assert first.version_id == "1" and first.uri == "gs://test-bucket/trained/1/model"
    pipeline = training()
    second = pipeline.run(
        parent_model=first.resource_name, base_output_dir="gs://test-bucket/trained/2", **run
    )
    assert second.resource_name == first.resource_name and second.version_id == "2"
    assert second.uri == "gs://test-bucket/trained/2/model"
    assert aiplatform.Model("sdk-trained").version_id == "2"
    model = aiplatform.Model("sdk-trained@2")
    assert model.gca_resource.training_pipeline == pipeline.resource_name
    versions = first.versioning_registry.list_versions()
    assert [v.version_id for v in versions] == ["1", "2"]
