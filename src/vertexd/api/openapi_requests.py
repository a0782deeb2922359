"""The request bodies of the create operations in the OpenAPI document: the resource without
its output-only fields, with the fields Vertex requires and its rules for display names and
labels, so that generated requests (schemathesis) get past the first checks."""

from __future__ import annotations

import copy
from typing import Any

from vertexd.resources.metadata_rules import MAX_DISPLAY_NAME, MAX_LABEL_CHARS, MAX_LABELS

OUTPUT_ONLY = frozenset(
    {"name", "state", "createTime", "startTime", "endTime", "updateTime", "error", "trials",
     "bestTrial", "trainingTaskMetadata", "webAccessUris", "modelId"}
)  # fmt: skip
REQUIRED = {
    "CustomJob": ["displayName", "jobSpec"],
    "HyperparameterTuningJob": [
        "displayName",
        "studySpec",
        "trialJobSpec",
        "maxTrialCount",
        "parallelTrialCount",
    ],
    "TrainingPipeline": ["displayName", "trainingTaskDefinition", "trainingTaskInputs"],
}
# The schema can only say less than the rules do (they also allow international letters).
LABELS = {
    "type": "object",
    "maxProperties": MAX_LABELS,
    "propertyNames": {"pattern": f"^[a-z][a-z0-9_-]{{0,{MAX_LABEL_CHARS - 1}}}$"},
    "additionalProperties": {"type": "string", "pattern": f"^[a-z0-9_-]{{0,{MAX_LABEL_CHARS}}}$"},
}
DISPLAY_NAME = {"type": "string", "minLength": 1, "maxLength": MAX_DISPLAY_NAME}
EXAMPLES = {  # what the documentation shows, and the fuzzer's first valid request
    "CustomJob": {
        "displayName": "train",
        "labels": {"team": "vision"},
        "jobSpec": {
            "workerPoolSpecs": [
                {
                    "machineSpec": {"machineType": "n1-standard-4"},
                    "replicaCount": "1",
                    "pythonPackageSpec": {
                        "executorImageUri": (
                            "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
                        ),
                        "packageUris": ["gs://my-bucket/trainer-0.1-py3-none-any.whl"],
                        "pythonModule": "trainer.task",
                    },
                }
            ]
        },
    }
}


def request_name(kind: str) -> str:
    return f"{kind}Request"


def add_request_schemas(components: dict[str, Any]) -> None:
    """`<Kind>Request` next to each `<Kind>`; a job spec needs at least one worker pool."""
    for kind, required in REQUIRED.items():
        if kind in components:
            components[request_name(kind)] = _request_schema(components[kind], required)
    spec = components.get("CustomJobSpec")
    if spec is not None:
        pools = spec["properties"]["workerPoolSpecs"]
        array = next((s for s in pools.get("anyOf", [pools]) if s.get("type") == "array"), None)
        if array is not None:
            spec["properties"]["workerPoolSpecs"] = {**array, "minItems": 1}
            spec["required"] = ["workerPoolSpecs"]


def _request_schema(resource: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema = copy.deepcopy(resource)
    properties = {k: v for k, v in schema["properties"].items() if k not in OUTPUT_ONLY}
    for name in required:  # a required field is not null
        properties[name] = _not_null(properties[name])
    properties["displayName"] = DISPLAY_NAME
    if "labels" in properties:
        properties["labels"] = LABELS
    schema.update(properties=properties, required=required, title=request_name(schema["title"]))
    if schema["title"].removesuffix("Request") in EXAMPLES:
        schema["examples"] = [EXAMPLES[schema["title"].removesuffix("Request")]]
    return schema


def _not_null(field: dict[str, Any]) -> dict[str, Any]:
    options = [s for s in field.get("anyOf", []) if s.get("type") != "null"]
    if len(options) == 1:
        return options[0]
    return {"anyOf": options} if options else field
