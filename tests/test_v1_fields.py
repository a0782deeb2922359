"""The field table is the v1 messages' own (regenerated from google-cloud-aiplatform's
descriptors), every field vertexd models is a v1 field under its JSON name, and a job without
`scheduling.timeout` ends after Vertex's 7 days."""

from __future__ import annotations

import json
from datetime import datetime

from pydantic import BaseModel

from vertexd.resources import custom_job, training_pipeline, tuning_job
from vertexd.resources.v1_fields import generate, message_fields
from vertexd.scheduler.supervisor import _deadline
from vertexd.store.records import Record


def test_the_committed_table_matches_the_installed_descriptors() -> None:
    assert json.loads(generate.TABLE.read_text()) == json.loads(generate.render(generate.build()))


def test_every_modelled_field_is_a_v1_field_under_its_json_name() -> None:
    checked = 0
    for module in (custom_job, tuning_job, training_pipeline):
        for model in vars(module).values():
            if not (isinstance(model, type) and issubclass(model, BaseModel)):
                continue
            try:
                fields = message_fields(model.__name__)
            except KeyError:
                continue  # a nested message: StudySpec.MetricSpec is modelled as MetricSpec
            names = {entry["json"] for entry in fields.values()}
            for name, info in model.model_fields.items():
                assert info.alias in names, f"{model.__name__}.{name}"
            checked += 1
    assert checked >= 10


def test_a_job_without_a_timeout_gets_vertexs_seven_days() -> None:
    def record(spec: dict) -> Record:
        body = {"jobSpec": spec, "startTime": "2024-01-01T00:00:00.000000Z"}
        return Record("n", "customJobs", "p", "JOB_STATE_RUNNING", body, 0, 0, datetime.now())

    start = datetime.fromisoformat("2024-01-01T00:00:00+00:00").timestamp()
    assert _deadline(record({})) == start + 7 * 24 * 3600
    assert _deadline(record({"scheduling": {"timeout": "60s"}})) == start + 60
