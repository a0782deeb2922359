"""Jobs of several worker pools and replicas on the local backend: one gang."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import Server, python_job, wait_for_files
from probe_package import probe_wheel
from test_custom_jobs_run import _group_alive

pytestmark = pytest.mark.slow

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"


@pytest.fixture(scope="module", autouse=True)
def probe(server: Server) -> None:
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")


def gang_job(args: list[str], counts: tuple[int, ...] = (1, 2, 1, 1), **spec: object) -> dict:
    """Pools 0-3 (chief, workers, parameter servers, evaluators) all running the probe."""
    job = python_job("probe.task", PROBE, args, **spec)
    pool = job["jobSpec"]["workerPoolSpecs"][0]
    job["jobSpec"]["workerPoolSpecs"] = [
        {**pool, "replicaCount": str(count)} if count else {} for count in counts
    ]
    return job


def test_every_replica_sees_the_cluster_as_on_vertex(server: Server, tmp_path: Path) -> None:
    args = ["--env-dir", str(tmp_path), "--chief-waits-for", "5"]
    name = server.create(gang_job(args)).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    seen = {task: record["env"] for task, record in wait_for_files(tmp_path, 5).items()}
    tasks = ["workerpool0-0", "workerpool1-0", "workerpool1-1", "workerpool2-0", "workerpool3-0"]
    assert sorted(seen) == tasks
    cluster = json.loads(seen["workerpool0-0"]["CLUSTER_SPEC"])["cluster"]
    assert [len(cluster[f"workerpool{i}"]) for i in range(4)] == [1, 2, 1, 1]
    addresses = [address for pool in cluster.values() for address in pool]
    assert len(set(addresses)) == 5  # every replica its own port
    tf_types = {"workerpool0": "chief", "workerpool1": "worker", "workerpool2": "ps"}
    for task, env in seen.items():
        pool, index = task.rsplit("-", 1)
        spec = json.loads(env["CLUSTER_SPEC"])
        assert spec["cluster"] == cluster and spec["environment"] == "cloud"
        assert spec["task"] == {"type": pool, "index": int(index), "trial": ""}
        assert spec["job"]["workerPoolSpecs"][1]["replicaCount"] == "2"
        tf_config = json.loads(env["TF_CONFIG"])
        assert tf_config["cluster"] == {
            "chief": cluster["workerpool0"],
            "worker": cluster["workerpool1"],
            "ps": cluster["workerpool2"],
        }  # evaluators are not part of TensorFlow's cluster
        assert tf_config["task"] == {
            "type": tf_types.get(pool, "evaluator"),
            "index": int(index),
            "trial": "",
        }
        assert f"{env['MASTER_ADDR']}:{env['MASTER_PORT']}" == cluster["workerpool0"][0]
        assert env["WORLD_SIZE"] == "3"  # the chief and the two workers train
        assert env["CLOUD_ML_JOB_ID"] == name.rsplit("/", 1)[1]
    ranks = [seen[t].get("RANK") for t in tasks]
    assert ranks == ["0", "1", "2", None, None]


def test_one_failing_replica_fails_the_gang_and_stops_the_rest(
    server: Server, tmp_path: Path
) -> None:
    args = ["--sleep", "600", "--pid-dir", str(tmp_path), "--fail-task", "workerpool1-1"]
    name = server.create(gang_job(args)).json()["name"]
    pids = wait_for_files(tmp_path, 5)
    done = server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=60)
    assert done["state"] == "JOB_STATE_FAILED"
    assert "workerpool1-1" in done["error"]["message"]
    assert "non-zero status of 5" in done["error"]["message"]
    assert "failing on purpose" in done["error"]["message"]
    assert not any(_group_alive(record["pgid"]) for record in pids.values())


def test_chief_success_ends_the_job_and_stops_servers_and_evaluators(
    server: Server, tmp_path: Path
) -> None:
    args = ["--sleep", "600", "--chief-sleep", "1", "--pid-dir", str(tmp_path)]
    name = server.create(gang_job(args, (1, 0, 1, 1))).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=60)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    pids = wait_for_files(tmp_path, 3)
    assert sorted(pids) == ["workerpool0-0", "workerpool2-0", "workerpool3-0"]
    assert not any(_group_alive(record["pgid"]) for record in pids.values())


def test_restart_job_on_worker_restart_reruns_the_whole_gang(
    server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"
    args = ["--sleep", "2", "--fail-task", "workerpool1-0", "--fail-once-file", str(marker)]
    job = gang_job(args, (1, 2), scheduling={"restartJobOnWorkerRestart": True})
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    service = [e["text"] for e in server.logs(name, "service")]
    assert any("Restarting the whole job" in line for line in service), service
    marker.unlink()
    job["jobSpec"]["scheduling"]["disableRetries"] = True  # wins over the restart
    name = server.create(job).json()["name"]
    done = server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_FAILED"


def test_cancel_stops_every_replica_and_logs_are_per_replica(
    server: Server, tmp_path: Path
) -> None:
    args = ["--sleep", "600", "--pid-dir", str(tmp_path)]
    name = server.create(gang_job(args)).json()["name"]
    pids = wait_for_files(tmp_path, 5)
    server.wait_for(name, "JOB_STATE_RUNNING")
    server.client.post(f"/v1/{name}:cancel")
    done = server.wait_for(name, "JOB_STATE_CANCELLED", "JOB_STATE_FAILED", timeout=30)
    assert done["state"] == "JOB_STATE_CANCELLED"
    assert not any(_group_alive(record["pgid"]) for record in pids.values())
    entries = server.logs(name, "workerpool1-1")
    assert entries and {e["taskName"] for e in entries} == {"workerpool1-1"}
    everyone = {e["taskName"] for e in server.logs(name)}
    assert {"workerpool0-0", "workerpool1-0", "workerpool2-0", "workerpool3-0"} <= everyone
