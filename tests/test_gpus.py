"""GPUs on a workstation, on CPU: devices declared with `--gpus N` (NVML is missing here, for
real), one set of devices per replica, never shared, the queue when they run out, and the
assignment kept across a `kill -9` of the server."""

from __future__ import annotations

import copy
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import PARENT, Server, python_job, write_wheel
from vertexd.launch.plan import Resources
from vertexd.scheduler.admission import admit
from vertexd.scheduler.gpus import Gpu, GpuPool, accelerator_type, fair_share, read_inventory

# Prints what it sees, then runs until the file named by its argument exists.
TASK = """import os, sys, time
cuda, nvidia = os.environ.get("CUDA_VISIBLE_DEVICES"), os.environ.get("NVIDIA_VISIBLE_DEVICES")
print(f"devices {cuda}|{nvidia}", flush=True)
while not os.path.exists(sys.argv[1]):
    time.sleep(0.05)
"""
PACKAGE = "gs://gpus/seer-0.1-py3-none-any.whl"


@pytest.mark.parametrize(
    ("model", "kind"),
    [
        ("Tesla T4", "NVIDIA_TESLA_T4"),
        ("NVIDIA L4", "NVIDIA_L4"),
        ("NVIDIA A100-SXM4-40GB", "NVIDIA_TESLA_A100"),
        ("NVIDIA A100-SXM4-80GB", "NVIDIA_A100_80GB"),
        ("NVIDIA A100 80GB PCIe", "NVIDIA_A100_80GB"),
        ("NVIDIA H100 80GB HBM3", "NVIDIA_H100_80GB"),
        ("NVIDIA H200", "NVIDIA_H200_141GB"),
        ("NVIDIA B200", "NVIDIA_B200"),
        ("Tesla V100-SXM2-16GB", "NVIDIA_TESLA_V100"),
        ("Tesla P100-PCIE-16GB", "NVIDIA_TESLA_P100"),
        ("Tesla P4", "NVIDIA_TESLA_P4"),
        ("Tesla K80", "NVIDIA_TESLA_K80"),
        ("NVIDIA GeForce RTX 4090", ""),
    ],
)
def test_nvml_models_map_to_vertex_accelerator_types(model: str, kind: str) -> None:
    assert accelerator_type(model) == kind


def test_declared_devices_where_nvml_is_missing() -> None:
    """No NVIDIA driver here: NVML's library is missing, so --gpus declares devices."""
    assert [gpu.id for gpu in read_inventory("2")] == ["0", "1"]
    assert [gpu.id for gpu in read_inventory("0,2")] == ["0", "2"]
    assert read_inventory(None) == [] and read_inventory("0") == []


def test_the_pool_never_gives_a_device_twice() -> None:
    t4s = [Gpu(i, f"GPU-t4-{i}", "Tesla T4", 15360) for i in range(2)]
    pool = GpuPool([*t4s, Gpu(2, "GPU-a100", "NVIDIA A100-SXM4-40GB", 40960)])
    assert pool.take("a", [(1, "NVIDIA_TESLA_A100")]) == [["GPU-a100"]]  # the type asked first
    assert pool.take("b", [(2, "NVIDIA_TESLA_T4"), (1, "")]) is None  # 3 asked, 2 free
    assert pool.take("b", [(1, "NVIDIA_TESLA_T4"), (0, "")]) == [["GPU-t4-0"], []]
    assert pool.hold("c", ["GPU-t4-0"]) == ["GPU-t4-0"]  # held by b: a clash, not given
    pool.give_back("a")
    assert pool.take("c", [(2, "")]) == [["GPU-t4-1", "GPU-a100"]]
    assert fair_share([("w0", 2, ""), ("w1", 2, "")], 3) == [(2, ""), (1, "")]


def test_a_cpu_job_passes_a_gpu_job_only_when_it_cannot_delay_it() -> None:
    capacity = Resources(8, 32, 1)
    busy = Resources(4, 15, 1)  # one GPU job runs
    gpu_job, small, large = Resources(4, 15, 1), Resources(2, 2, 0), Resources(4, 15, 0)
    queue = [("gpu", gpu_job), ("small", small), ("large", large)]
    assert admit(queue, busy, capacity, running=1) == []  # large would leave gpu no CPUs
    assert admit(queue[:2], busy, capacity, running=1) == []  # 4+4+2 > 8 vCPUs: small waits
    roomy = Resources(12, 64, 1)
    assert admit(queue, busy, roomy, running=1) == ["small"]  # 4+4+2 fits; +4 more does not
    assert admit([("gpu", gpu_job), ("gpu2", gpu_job)], busy, roomy, running=1) == []


def gpu_job(flag: Path, gpus: int = 1, worker_gpus: int = 0) -> dict:
    job = python_job("seer.task", PACKAGE, [str(flag)])
    pool = job["jobSpec"]["workerPoolSpecs"][0]
    pool["machineSpec"].update(acceleratorType="NVIDIA_TESLA_T4", acceleratorCount=gpus)
    if worker_gpus:
        worker = copy.deepcopy(pool)
        worker["machineSpec"]["acceleratorCount"] = worker_gpus
        job["jobSpec"]["workerPoolSpecs"].append(worker)
    return job


def declared_gpu(key: str) -> dict:
    return {"index": int(key), "model": "declared", "memoryMb": 0, "acceleratorType": ""}


def seen(server: Server, name: str, task: str = "workerpool0-0") -> list[str]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        lines = [e["text"] for e in server.logs(name, task) if e["text"].startswith("devices")]
        if lines:
            return lines[0].split(" ", 1)[1].split("|")
        time.sleep(0.05)
    raise AssertionError(f"{name} printed no devices: {server.logs(name)}")


@pytest.fixture
def declared(tmp_path: Path) -> Iterator[Server]:
    home = tmp_path / "home"
    write_wheel(home / "buckets" / "gpus", "seer", {"seer/__init__.py": "", "seer/task.py": TASK})
    server = Server(home, "--cpus", "64", "--memory-gb", "1000", "--gpus", "3")
    server.start()
    yield server
    server.stop()


def create(server: Server, job: dict) -> str:
    created = server.create(job)
    assert created.status_code == 200, created.text
    return str(created.json()["name"])


def test_one_device_per_replica_and_a_queue_when_they_run_out(
    declared: Server, tmp_path: Path
) -> None:
    flags = [tmp_path / f"stop-{i}" for i in range(4)]
    first, second = (create(declared, gpu_job(flag)) for flag in flags[:2])
    pair = create(declared, gpu_job(flags[2], gpus=2))  # two GPUs: only one is free
    devices = [seen(declared, name) for name in (first, second)]
    assert devices[0][0] != devices[1][0] and all(d[0] == d[1] for d in devices)
    assert {devices[0][0], devices[1][0]} <= {"0", "1", "2"}
    time.sleep(0.5)
    assert declared.get(pair)["state"] == "JOB_STATE_QUEUED"
    flags[0].touch()  # the first job ends: its device goes to the waiting one
    declared.wait_for(first, "JOB_STATE_SUCCEEDED")
    got = seen(declared, pair)[0].split(",")
    assert len(got) == 2 and devices[1][0] not in got and devices[0][0] in got
    said = [e["text"] for e in declared.logs(pair, "service")]
    assert any(line.startswith("workerpool0-0 gets GPU ") for line in said)
    for flag in flags:
        flag.touch()
    for name in (second, pair):
        assert declared.wait_for(name, "JOB_STATE_SUCCEEDED")["state"] == "JOB_STATE_SUCCEEDED"


def test_a_two_gpu_chief_and_a_one_gpu_worker_get_three_devices(
    declared: Server, tmp_path: Path
) -> None:
    flag = tmp_path / "stop"
    name = create(declared, gpu_job(flag, gpus=2, worker_gpus=1))
    chief, worker = seen(declared, name)[0].split(","), seen(declared, name, "workerpool1-0")
    assert len(chief) == 2 and len(set(chief + worker[:1])) == 3
    held = declared.client.get("/console/api/devices", params={"name": name}).json()
    assert held == {  # what the console's job page shows
        "replicas": [
            {
                "taskName": "workerpool0-0",
                "devices": [{"id": key} | declared_gpu(key) for key in chief],
            },
            {"taskName": "workerpool1-0", "devices": [{"id": worker[0]} | declared_gpu(worker[0])]},
        ]
    }
    describe = [sys.executable, "-m", "vertexd", "custom-jobs", "describe", name]
    described = subprocess.run(
        [*describe, "--endpoint", declared.url], capture_output=True, text=True, timeout=60
    )
    assert described.returncode == 0, described.stderr
    assert f"workerpool1-0 holds GPU {worker[0]} {worker[0]} (declared)." in described.stderr
    flag.touch()
    assert declared.wait_for(name, "JOB_STATE_SUCCEEDED")["state"] == "JOB_STATE_SUCCEEDED"


def test_a_restart_after_kill_keeps_the_devices_of_running_jobs(
    declared: Server, tmp_path: Path
) -> None:
    flags = [tmp_path / f"stop-{i}" for i in range(3)]
    held = create(declared, gpu_job(flags[0], gpus=2))
    before = seen(declared, held)[0].split(",")
    declared.restart(kill=True)
    after = create(declared, gpu_job(flags[1]))
    assert seen(declared, after)[0] not in before  # the one device nobody holds
    waits = create(declared, gpu_job(flags[2]))
    time.sleep(0.5)
    assert declared.get(waits)["state"] == "JOB_STATE_QUEUED"  # all three are held
    for flag in flags:
        flag.touch()
    for name in (held, after, waits):
        assert declared.wait_for(name, "JOB_STATE_SUCCEEDED")["state"] == "JOB_STATE_SUCCEEDED"


def test_a_cpu_replica_on_a_gpu_host_sees_no_gpu(declared: Server, tmp_path: Path) -> None:
    flag = tmp_path / "stop"
    flag.touch()
    name = create(declared, python_job("seer.task", PACKAGE, [str(flag)]))
    assert seen(declared, name) == ["", "void"]
    assert declared.wait_for(name, "JOB_STATE_SUCCEEDED")["state"] == "JOB_STATE_SUCCEEDED"
    assert PARENT in name
