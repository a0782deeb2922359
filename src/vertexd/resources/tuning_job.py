"""HyperparameterTuningJob, StudySpec and Trial (google.cloud.aiplatform.v1), as models.

Proto3 JSON leaves default values out, so a bound of 0 may arrive as a missing field: the
numeric bounds are `None` here and read as 0 (see `bound`).
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any

from vertexd.resources.common import (
    Duration,
    Int32,
    Int64,
    Status,
    Timestamp,
    VertexModel,
    enum_field,
)
from vertexd.resources.custom_job import CustomJobSpec, JobState


class GoalType(IntEnum):
    GOAL_TYPE_UNSPECIFIED = 0  # Vertex: "will default to maximize"
    MAXIMIZE = 1
    MINIMIZE = 2


class ScaleType(IntEnum):
    SCALE_TYPE_UNSPECIFIED = 0
    UNIT_LINEAR_SCALE = 1
    UNIT_LOG_SCALE = 2
    UNIT_REVERSE_LOG_SCALE = 3


class Algorithm(IntEnum):
    ALGORITHM_UNSPECIFIED = 0
    GRID_SEARCH = 2
    RANDOM_SEARCH = 3


class MeasurementSelectionType(IntEnum):
    MEASUREMENT_SELECTION_TYPE_UNSPECIFIED = 0  # treated as LAST_MEASUREMENT
    LAST_MEASUREMENT = 1
    BEST_MEASUREMENT = 2


class ObservationNoise(IntEnum):
    OBSERVATION_NOISE_UNSPECIFIED = 0
    LOW = 1
    HIGH = 2


class TrialState(IntEnum):
    STATE_UNSPECIFIED = 0
    REQUESTED = 1
    ACTIVE = 2
    STOPPING = 3
    SUCCEEDED = 4
    INFEASIBLE = 5


class MetricSpec(VertexModel):
    metric_id: str | None = None
    goal: enum_field(GoalType) | None = None  # type: ignore[valid-type]


class DoubleValueSpec(VertexModel):
    min_value: float | None = None
    max_value: float | None = None
    default_value: float | None = None


class IntegerValueSpec(VertexModel):
    min_value: Int64 | None = None
    max_value: Int64 | None = None
    default_value: Int64 | None = None


class CategoricalValueSpec(VertexModel):
    values: list[str] | None = None
    default_value: str | None = None


class DiscreteValueSpec(VertexModel):
    values: list[float] | None = None
    default_value: float | None = None


class DiscreteValueCondition(VertexModel):
    values: list[float] | None = None


class IntValueCondition(VertexModel):
    values: list[Int64] | None = None


class CategoricalValueCondition(VertexModel):
    values: list[str] | None = None


class ConditionalParameterSpec(VertexModel):
    parameter_spec: ParameterSpec | None = None
    parent_discrete_values: DiscreteValueCondition | None = None
    parent_int_values: IntValueCondition | None = None
    parent_categorical_values: CategoricalValueCondition | None = None

    def condition_values(self) -> list[Any] | None:
        """The parent values that activate this child (None when no condition is given)."""
        for condition in (
            self.parent_discrete_values,
            self.parent_int_values,
            self.parent_categorical_values,
        ):
            if condition is not None:
                return list(condition.values or [])
        return None


class ParameterSpec(VertexModel):
    parameter_id: str | None = None
    double_value_spec: DoubleValueSpec | None = None
    integer_value_spec: IntegerValueSpec | None = None
    categorical_value_spec: CategoricalValueSpec | None = None
    discrete_value_spec: DiscreteValueSpec | None = None
    scale_type: enum_field(ScaleType) | None = None  # type: ignore[valid-type]
    conditional_parameter_specs: list[ConditionalParameterSpec] | None = None

    def kind(self) -> str:
        """DOUBLE, INTEGER, CATEGORICAL or DISCRETE ('' when no value spec is set)."""
        kinds = {
            "DOUBLE": self.double_value_spec,
            "INTEGER": self.integer_value_spec,
            "CATEGORICAL": self.categorical_value_spec,
            "DISCRETE": self.discrete_value_spec,
        }
        return next((name for name, spec in kinds.items() if spec is not None), "")

    def scale(self) -> ScaleType:
        return self.scale_type or ScaleType.SCALE_TYPE_UNSPECIFIED


class DecayCurveAutomatedStoppingSpec(VertexModel):
    use_elapsed_duration: bool | None = None


class MedianAutomatedStoppingSpec(VertexModel):
    use_elapsed_duration: bool | None = None


class ConvexAutomatedStoppingSpec(VertexModel):
    max_step_count: Int64 | None = None
    min_step_count: Int64 | None = None
    min_measurement_count: Int64 | None = None
    learning_rate_parameter_name: str | None = None
    use_elapsed_duration: bool | None = None
    update_all_stopped_trials: bool | None = None


class StudySpec(VertexModel):
    metrics: list[MetricSpec] | None = None
    parameters: list[ParameterSpec] | None = None
    algorithm: enum_field(Algorithm) | None = None  # type: ignore[valid-type]
    observation_noise: enum_field(ObservationNoise) | None = None  # type: ignore[valid-type]
    measurement_selection_type: enum_field(MeasurementSelectionType) | None = None  # type: ignore[valid-type]
    decay_curve_stopping_spec: DecayCurveAutomatedStoppingSpec | None = None
    median_automated_stopping_spec: MedianAutomatedStoppingSpec | None = None
    convex_automated_stopping_spec: ConvexAutomatedStoppingSpec | None = None
    study_stopping_config: dict[str, Any] | None = None


class MeasurementMetric(VertexModel):
    metric_id: str | None = None
    value: float | None = None


class Measurement(VertexModel):
    elapsed_duration: Duration | None = None
    step_count: Int64 | None = None
    metrics: list[MeasurementMetric] | None = None


class TrialParameter(VertexModel):
    parameter_id: str | None = None
    value: Any = None  # google.protobuf.Value: a number, or a string for CATEGORICAL


class Trial(VertexModel):
    name: str | None = None
    id: str | None = None
    state: enum_field(TrialState) | None = None  # type: ignore[valid-type]
    parameters: list[TrialParameter] | None = None
    final_measurement: Measurement | None = None
    measurements: list[Measurement] | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    client_id: str | None = None
    infeasible_reason: str | None = None
    custom_job: str | None = None
    web_access_uris: dict[str, str] | None = None


class HyperparameterTuningJob(VertexModel):
    name: str | None = None
    display_name: str | None = None
    study_spec: StudySpec | None = None
    max_trial_count: Int32 | None = None
    parallel_trial_count: Int32 | None = None
    max_failed_trial_count: Int32 | None = None
    trial_job_spec: CustomJobSpec | None = None
    trials: list[Trial] | None = None
    state: enum_field(JobState) | None = None  # type: ignore[valid-type]
    create_time: Timestamp | None = None
    start_time: Timestamp | None = None
    end_time: Timestamp | None = None
    update_time: Timestamp | None = None
    error: Status | None = None
    labels: dict[str, str] | None = None
    encryption_spec: dict[str, Any] | None = None
    satisfies_pzs: bool | None = None
    satisfies_pzi: bool | None = None


ConditionalParameterSpec.model_rebuild()

OUTPUT_ONLY_FIELDS = (
    "name",
    "trials",
    "state",
    "create_time",
    "start_time",
    "end_time",
    "update_time",
    "error",
)


def bound(value: float | int | None) -> float:
    """A numeric bound that proto3 JSON may have left out because it is 0."""
    return float(value or 0)
