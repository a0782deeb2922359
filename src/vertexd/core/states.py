"""The job state machine, shared by every kind of job (drawn in scheduler/README.md).

States are named by their suffix (RUNNING) so CustomJob's JOB_STATE_RUNNING and
TrainingPipeline's PIPELINE_STATE_RUNNING follow one machine.
"""

from __future__ import annotations

QUEUED, PENDING, RUNNING = "QUEUED", "PENDING", "RUNNING"
SUCCEEDED, FAILED, CANCELLING, CANCELLED = "SUCCEEDED", "FAILED", "CANCELLING", "CANCELLED"

TERMINAL = frozenset({SUCCEEDED, FAILED, CANCELLED})
ACTIVE = frozenset({PENDING, RUNNING, CANCELLING})

ALLOWED: dict[str, frozenset[str]] = {
    QUEUED: frozenset({PENDING, FAILED, CANCELLING, CANCELLED}),
    # PENDING -> QUEUED: a job whose preparation was cut by a restart goes back to the queue.
    PENDING: frozenset({QUEUED, RUNNING, FAILED, CANCELLING, CANCELLED}),
    # RUNNING -> PENDING: the whole job restarts (scheduling.restartJobOnWorkerRestart).
    RUNNING: frozenset({PENDING, SUCCEEDED, FAILED, CANCELLING}),
    CANCELLING: frozenset({CANCELLED, FAILED}),
}


PREFIXES = ("JOB", "PIPELINE")  # JOB_STATE_* (CustomJob, tuning jobs), PIPELINE_STATE_*


def full_name(current: str, target: str) -> str:
    """The full name of short state `target` in the family of `current` (JOB by default)."""
    prefix = current.split("_STATE_", 1)[0] if "_STATE_" in current else "JOB"
    return f"{prefix}_STATE_{target}"


def short(state: str) -> str:
    """'JOB_STATE_RUNNING' -> 'RUNNING'."""
    return state.split("_STATE_", 1)[-1]


def can_move(current: str, target: str) -> bool:
    return short(target) in ALLOWED.get(short(current), frozenset())


def is_terminal(state: str) -> bool:
    return short(state) in TERMINAL
