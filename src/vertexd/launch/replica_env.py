"""The environment a replica sees, as on Vertex: CLUSTER_SPEC, TF_CONFIG, AIP_*, PyTorch vars."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

# Vertex pool position -> TensorFlow task type. Evaluators are not part of TF's cluster.
TF_TASK_TYPES = ("chief", "worker", "ps", "evaluator")


@dataclass(frozen=True)
class ReplicaSlot:
    pool: int
    index: int
    address: str  # host:port

    @property
    def task_name(self) -> str:
        return f"workerpool{self.pool}-{self.index}"


@dataclass(frozen=True)
class JobContext:
    job_id: str
    job_spec: dict[str, Any]  # the CustomJobSpec in wire form, echoed in CLUSTER_SPEC
    base_output_dir: str | None  # baseOutputDirectory.outputUriPrefix
    trial_id: str = ""


def output_dirs(base: str | None, trial_id: str = "") -> dict[str, str]:
    if not base:
        return {}
    root = base.rstrip("/") + "/" + (f"{trial_id}/" if trial_id else "")
    return {
        "AIP_MODEL_DIR": root + "model/",
        "AIP_CHECKPOINT_DIR": root + "checkpoints/",
        "AIP_TENSORBOARD_LOG_DIR": root + "logs/",
    }


def replica_env(job: JobContext, slots: list[ReplicaSlot], me: ReplicaSlot) -> dict[str, str]:
    cluster: dict[str, list[str]] = {}
    for slot in slots:
        cluster.setdefault(f"workerpool{slot.pool}", []).append(slot.address)
    task = {"type": f"workerpool{me.pool}", "index": me.index, "trial": job.trial_id}
    cluster_spec = {"cluster": cluster, "environment": "cloud", "task": task, "job": job.job_spec}
    env = {
        "CLOUD_ML_JOB_ID": job.job_id,
        "CLUSTER_SPEC": json.dumps(cluster_spec),
        "TF_CONFIG": json.dumps(_tf_config(job, slots, me)),
        **_torch_env(slots, me),
        **output_dirs(job.base_output_dir, job.trial_id),
    }
    if job.trial_id:
        env["CLOUD_ML_TRIAL_ID"] = job.trial_id
    return env


def _tf_config(job: JobContext, slots: list[ReplicaSlot], me: ReplicaSlot) -> dict[str, Any]:
    cluster: dict[str, list[str]] = {}
    for slot in slots:
        if TF_TASK_TYPES[slot.pool] != "evaluator":
            cluster.setdefault(TF_TASK_TYPES[slot.pool], []).append(slot.address)
    task = {"type": TF_TASK_TYPES[me.pool], "index": me.index, "trial": job.trial_id}
    return {"cluster": cluster, "task": task, "job": job.job_spec, "environment": "cloud"}


def _torch_env(slots: list[ReplicaSlot], me: ReplicaSlot) -> dict[str, str]:
    """MASTER_ADDR/PORT is the chief; RANK counts chief then workers (the training nodes)."""
    chief_host, chief_port = slots[0].address.rsplit(":", 1)
    nodes = [s for s in slots if s.pool in (0, 1)]
    env = {"MASTER_ADDR": chief_host, "MASTER_PORT": chief_port, "WORLD_SIZE": str(len(nodes))}
    if me in nodes:
        env["RANK"] = str(nodes.index(me))
    return env
