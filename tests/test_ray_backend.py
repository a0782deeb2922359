"""The Ray backend on a real three-node Ray cluster on this machine (127.0.0.2, .3 and .4),
through the REST API of a real `vertexd serve --backend ray --ray-address ...`."""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from conftest import Server, python_job, wait_for_files, write_wheel
from ddp_package import ddp_wheel
from probe_package import probe_wheel
from ray_support import NODES, warm_actors
from test_custom_jobs_run import _group_alive
from test_ddp_local import ddp_job

ray = pytest.importorskip("ray")

pytestmark = pytest.mark.slow

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"
PLACEMENT_TIMEOUT = 3  # seconds the server waits for room on a busy cluster
TASKS = ["workerpool0-0", "workerpool1-0", "workerpool1-1", "workerpool2-0", "workerpool3-0"]


@pytest.fixture(scope="module")
def ray_server(ray_cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = Server(
        tmp_path_factory.mktemp("ray-home"),
        "--backend",
        "ray",
        "--ray-address",
        ray_cluster.address,
    )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("VERTEXD_RAY_PLACEMENT_TIMEOUT_SECONDS", str(PLACEMENT_TIMEOUT))
        running.start()
    probe_wheel(running.home / "buckets" / "test-bucket" / "packages")
    yield running
    running.stop()


def gang_job(args: list[str], counts: tuple[int, ...] = (1, 2, 1, 1), **spec: object) -> dict:
    """Pools 0-3 (chief, workers, parameter servers, evaluators) all running the probe."""
    job = python_job("probe.task", PROBE, args, **spec)
    pool = job["jobSpec"]["workerPoolSpecs"][0]
    job["jobSpec"]["workerPoolSpecs"] = [
        {**pool, "replicaCount": str(count)} if count else {} for count in counts
    ]
    return job


def ray_leftovers(job_name: str) -> tuple[list[str], list[str]]:
    """The job's named actors still alive and its placement groups not removed."""
    prefix = "vertexd-" + job_name.rsplit("/", 1)[1]
    named = ray.util.list_named_actors(all_namespaces=True)
    job_groups = [
        g for g in ray.util.placement_group_table().values() if str(g["name"]).startswith(prefix)
    ]
    ids = {g["placement_group_id"] for g in job_groups}
    actors = [a["name"] for a in named if a["name"].startswith(prefix)]
    claimed = {name: s["group"] for name, s in warm_actors().items() if not s["idle"]}
    actors += [name for name, group in claimed.items() if group in ids]
    groups = [g["name"] for g in job_groups if g["state"] != "REMOVED"]
    return actors, groups


def assert_released(job_name: str, timeout: float = 15) -> None:
    """The job's actors and placement group go (cleanup runs right after the final state)."""
    deadline = time.monotonic() + timeout
    while (left := ray_leftovers(job_name)) != ([], []):
        assert time.monotonic() < deadline, f"still held: {left}"
        time.sleep(0.1)


def assert_groups_gone(pids: dict[str, dict], timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while any(_group_alive(record["pgid"]) for record in pids.values()):
        assert time.monotonic() < deadline, "a replica's process group outlived the job"
        time.sleep(0.1)


def test_pools_0_to_3_spread_over_nodes_see_the_cluster_as_on_vertex(
    ray_server: Server, tmp_path: Path
) -> None:
    args = ["--env-dir", str(tmp_path), "--chief-waits-for", "5"]
    name = ray_server.create(gang_job(args)).json()["name"]
    done = ray_server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    seen = {task: record["env"] for task, record in wait_for_files(tmp_path, 5).items()}
    assert sorted(seen) == TASKS
    cluster = json.loads(seen["workerpool0-0"]["CLUSTER_SPEC"])["cluster"]
    assert [len(cluster[f"workerpool{i}"]) for i in range(4)] == [1, 2, 1, 1]
    addresses = [address for pool in cluster.values() for address in pool]
    hosts = {address.rsplit(":", 1)[0] for address in addresses}
    assert len(set(addresses)) == 5 and hosts == set(NODES)  # spread over every node
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
        }
        assert tf_config["task"] == {
            "type": tf_types.get(pool, "evaluator"),
            "index": int(index),
            "trial": "",
        }
        assert f"{env['MASTER_ADDR']}:{env['MASTER_PORT']}" == cluster["workerpool0"][0]
        assert env["WORLD_SIZE"] == "3"
        assert env["CLOUD_ML_JOB_ID"] == name.rsplit("/", 1)[1]
        assert env["OMP_NUM_THREADS"] == "4"  # the replica's vCPUs, from its bundle
        assert not [key for key in env if key.startswith("RAY_")]
    assert [seen[t].get("RANK") for t in TASKS] == ["0", "1", "2", None, None]
    lines = ray_server.logs(name, "workerpool1-1")
    assert {e["taskName"] for e in lines} == {"workerpool1-1"}
    assert ("stdout", "hello from the probe") in {(e["stream"], e["text"]) for e in lines}
    assert_released(name)


def test_a_failing_replica_fails_the_gang_and_every_process_group_is_killed(
    ray_server: Server, tmp_path: Path
) -> None:
    args = ["--sleep", "600", "--pid-dir", str(tmp_path), "--fail-task", "workerpool1-1"]
    name = ray_server.create(gang_job(args)).json()["name"]
    pids = wait_for_files(tmp_path, 5)
    done = ray_server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=60)
    assert done["state"] == "JOB_STATE_FAILED"
    message = done["error"]["message"]
    assert "workerpool1-1" in message and "non-zero status of 5" in message
    assert "failing on purpose" in message
    assert_groups_gone(pids)
    assert_released(name)


def test_cancel_kills_process_groups_then_actors_then_the_placement_group(
    ray_server: Server, tmp_path: Path
) -> None:
    args = ["--sleep", "600", "--pid-dir", str(tmp_path)]
    name = ray_server.create(gang_job(args, (1, 2))).json()["name"]
    pids = wait_for_files(tmp_path, 3)
    ray_server.wait_for(name, "JOB_STATE_RUNNING")
    actors, groups = ray_leftovers(name)
    assert len(actors) == 3 and len(groups) == 1
    assert all(psutil.pid_exists(record["child"]) for record in pids.values())
    ray_server.client.post(f"/v1/{name}:cancel")
    done = ray_server.wait_for(name, "JOB_STATE_CANCELLED", "JOB_STATE_FAILED", timeout=30)
    assert done["state"] == "JOB_STATE_CANCELLED"
    assert_groups_gone(pids)
    assert_released(name)


def test_a_dead_actor_fails_the_gang_and_its_orphans_are_killed(
    ray_server: Server, tmp_path: Path
) -> None:
    args = ["--sleep", "600", "--pid-dir", str(tmp_path)]
    name = ray_server.create(gang_job(args, (1, 2))).json()["name"]
    pids = wait_for_files(tmp_path, 3)
    ray_server.wait_for(name, "JOB_STATE_RUNNING")
    time.sleep(0.5)  # the server has heard of every replica's pid
    actor = pids["workerpool1-0"]["parent"]
    os.kill(actor, signal.SIGKILL)  # what Ray does not notice for the gang
    done = ray_server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=30)
    assert done["state"] == "JOB_STATE_FAILED"
    assert "workerpool1-0" in done["error"]["message"]
    assert "Ray actor" in done["error"]["message"] and "died" in done["error"]["message"]
    assert_groups_gone(pids)  # the dead actor's replica too
    assert_released(name)


def test_resources_no_node_has_fail_at_once_naming_what_is_missing(ray_server: Server) -> None:
    job = gang_job([], (1,))
    job["jobSpec"]["workerPoolSpecs"][0]["machineSpec"] = {
        "machineType": "a2-highgpu-1g",
        "acceleratorType": "NVIDIA_TESLA_A100",
        "acceleratorCount": 1,
    }
    name = ray_server.create(job).json()["name"]
    done = ray_server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=30)
    assert done["state"] == "JOB_STATE_FAILED"
    message = done["error"]["message"]
    assert "workerpool0-0 asks for 12 CPU, 85 GB memory, 1 GPU" in message, message
    assert "Missing: 4 CPU, 21 GB memory." in message, message  # the GPU is there


def test_a_busy_cluster_fails_the_job_after_a_bounded_wait(ray_server: Server) -> None:
    from ray.util.placement_group import placement_group, remove_placement_group

    hog = placement_group([{"CPU": 8}] * 3, strategy="STRICT_SPREAD")
    assert hog.wait(30)
    try:
        started = time.monotonic()
        name = ray_server.create(gang_job([], (1,))).json()["name"]
        done = ray_server.wait_for(name, "JOB_STATE_FAILED", "JOB_STATE_SUCCEEDED", timeout=60)
        assert time.monotonic() - started >= PLACEMENT_TIMEOUT
    finally:
        remove_placement_group(hog)
    assert done["state"] == "JOB_STATE_FAILED"
    assert (
        f"no room for the job's replicas within {PLACEMENT_TIMEOUT} s" in done["error"]["message"]
    )
    assert "Missing: 4 CPU." in done["error"]["message"]
    assert_released(name)


def test_restart_job_on_worker_restart_places_the_gang_again(
    ray_server: Server, tmp_path: Path
) -> None:
    marker = tmp_path / "failed-once"
    args = ["--sleep", "1", "--fail-task", "workerpool1-0", "--fail-once-file", str(marker)]
    job = gang_job(args, (1, 2), scheduling={"restartJobOnWorkerRestart": True})
    name = ray_server.create(job).json()["name"]
    done = ray_server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=60)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    service = [e["text"] for e in ray_server.logs(name, "service")]
    assert any("Restarting the whole job" in line for line in service), service
    assert sum("Started 3 replica(s) on the ray backend" in line for line in service) == 2
    assert_released(name)


def test_a_restarted_server_reattaches_to_the_actors(ray_server: Server, tmp_path: Path) -> None:
    go = tmp_path / "go"
    args = ["--pid-dir", str(tmp_path), "--until-file", str(go)]
    name = ray_server.create(gang_job(args, (1, 1))).json()["name"]
    wait_for_files(tmp_path, 2)
    ray_server.wait_for(name, "JOB_STATE_RUNNING")
    ray_server.restart(kill=True)  # a crash: the detached actors go on running
    assert ray_server.get(name)["state"] == "JOB_STATE_RUNNING"
    go.touch()
    done = ray_server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=60)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    texts = [e["text"] for e in ray_server.logs(name)]
    assert any("reattached" in text for text in texts)
    last = [e["taskName"] for e in ray_server.logs(name) if e["text"] == "last words"]
    assert sorted(last) == ["workerpool0-0", "workerpool1-0"]  # printed after the restart
    assert_released(name)


def test_pytorch_ddp_chief_and_two_workers_on_three_nodes(
    ray_server: Server, tmp_path: Path
) -> None:
    ddp_wheel(ray_server.home / "buckets" / "test-bucket" / "packages")
    name = ray_server.create(ddp_job(tmp_path)).json()["name"]
    done = ray_server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", timeout=600)
    assert done["state"] == "JOB_STATE_SUCCEEDED", done
    ranks = [json.loads((tmp_path / f"rank-{r}.json").read_text()) for r in range(3)]
    assert [r["world"] for r in ranks] == [3, 3, 3]
    assert ranks[0]["weights"] == ranks[1]["weights"] == ranks[2]["weights"]
    assert ranks[0]["loss"] < 5.0
    model = ray_server.home / "buckets" / "test-bucket" / "ddp" / "model" / "model.pt"
    assert model.stat().st_size > 0
    entries = ray_server.logs(name)
    tasks = {e["taskName"] for e in entries if e["text"].startswith("rank ")}
    assert tasks == {"workerpool0-0", "workerpool1-0", "workerpool1-1"}
    nodes = {e["text"].rsplit(" ", 1)[1] for e in entries if " on Ray node " in e["text"]}
    assert nodes == {f"{address}." for address in NODES}


def test_reservations_released_or_never_started_leave_nothing_held(
    ray_cluster: Any, tmp_path: Path
) -> None:
    from vertexd.backends.ray.backend import RayBackend
    from vertexd.backends.ray.config import RayConfig
    from vertexd.launch.plan import Resources

    config = RayConfig(
        namespace="vertexd-tests",
        start_deadline_seconds=2,
        envs_dir=tmp_path,
        buckets_dir=tmp_path,
    )
    backend = RayBackend(config)  # in this process, already connected
    replicas = [("workerpool0-0", Resources(2, 1)), ("workerpool1-0", Resources(2, 1))]
    released = backend.reserve("1001", replicas)
    assert {a.rsplit(":", 1)[0] for a in released.addresses} <= set(NODES)
    assert ray_leftovers("jobs/1001") != ([], [])
    backend.release(released)  # the protocol gives back the whole reservation
    assert_released("jobs/1001")
    backend.reserve("1002", replicas)  # a server that dies here never starts it
    assert_released("jobs/1002", timeout=30)  # after its start deadline
    backend.close()


def test_gpu_replicas_get_their_own_devices_from_ray(ray_server: Server, tmp_path: Path) -> None:
    """Two one-T4 jobs at once: Ray places both on the node labelled T4 and gives each its
    own device, which the replica sees in CUDA_VISIBLE_DEVICES."""
    write_wheel(ray_server.home / "buckets" / "gpus", "seer", {"seer/task.py": SEER})
    flag = tmp_path / "stop"
    names = []
    for _ in range(2):
        job = python_job("seer.task", "gs://gpus/seer-0.1-py3-none-any.whl", [str(flag)])
        machine = job["jobSpec"]["workerPoolSpecs"][0]["machineSpec"]
        machine.update(acceleratorType="NVIDIA_TESLA_T4", acceleratorCount=1)
        names.append(ray_server.create(job).json()["name"])
    seen = [ray_devices(ray_server, name) for name in names]
    flag.touch()
    assert sorted(seen) == [("0", NODES[-1]), ("1", NODES[-1])]
    for name in names:
        assert ray_server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")["state"] == (
            "JOB_STATE_SUCCEEDED"
        )


SEER = """import os, socket, sys, time
print("devices", os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("MASTER_ADDR"), flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
"""


def ray_devices(server: Server, name: str) -> tuple[str, str]:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        for entry in server.logs(name, "workerpool0-0"):
            if entry["text"].startswith("devices "):
                _, devices, address = entry["text"].split(" ")
                return devices, address
        time.sleep(0.1)
    raise AssertionError(f"{name} printed nothing: {server.logs(name)}")
