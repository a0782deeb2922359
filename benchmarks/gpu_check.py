"""On a machine with NVIDIA GPUs: one PyTorch job per GPU at once, each asking for one GPU,
and a check that each saw exactly one device, that no two saw the same one, and that what
they saw is what NVML lists. Prints a table; skips (exit 0) with one line elsewhere.

    pip install 'vertexd[gpu]'   # NVML's binding
    python benchmarks/gpu_check.py [--gpus 0,1]

The jobs run on the PyTorch GPU executor image's local environment (a first run builds it).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import httpx
from bench_server import start_server  # benchmarks/, beside this script

from vertexd.scheduler.gpus import Gpu, nvml_gpus

PARENT = "projects/gpu-check/locations/us-central1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/pytorch-gpu.2-4.py310:latest"
TASK = """import torch
count = torch.cuda.device_count()
uuids = ["GPU-" + str(torch.cuda.get_device_properties(i).uuid) for i in range(count)]
print("seen", count, ",".join(uuids), flush=True)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--gpus", default=None, help="vertexd serve --gpus (default: all)")
    options = parser.parse_args()
    gpus, why = nvml_gpus()
    if not gpus:
        print(f"gpu_check: skipped: no NVIDIA GPU here ({why or 'NVML lists none'}).")
        return
    with tempfile.TemporaryDirectory() as scratch:
        home = Path(scratch) / "home"
        wheel_dir = home / "buckets" / "gpu-check"
        wheel_dir.mkdir(parents=True)
        write_wheel(wheel_dir / "gpucheck-0.1-py3-none-any.whl")
        server, client = start_server(home, *(["--gpus", options.gpus] if options.gpus else []))
        try:
            names = [submit(client, i) for i in range(len(gpus))]
            seen = [wait_for_seen(client, name) for name in names]
        finally:
            server.terminate()
            server.wait(timeout=60)
    report(gpus, seen)


def write_wheel(path: Path) -> None:
    info = "gpucheck-0.1.dist-info"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("gpucheck/task.py", TASK)
        archive.writestr(
            f"{info}/METADATA", "Metadata-Version: 2.1\nName: gpucheck\nVersion: 0.1\n"
        )
        archive.writestr(
            f"{info}/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        archive.writestr(f"{info}/RECORD", "")


def submit(client: httpx.Client, number: int) -> str:
    pool = {
        "machineSpec": {
            "machineType": "n1-standard-4",
            "acceleratorType": "NVIDIA_TESLA_T4",
            "acceleratorCount": 1,
        },
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": EXECUTOR,
            "packageUris": ["gs://gpu-check/gpucheck-0.1-py3-none-any.whl"],
            "pythonModule": "gpucheck.task",
        },
    }
    job = {"displayName": f"gpu-check-{number}", "jobSpec": {"workerPoolSpecs": [pool]}}
    answer = client.post(f"/v1/{PARENT}/customJobs", json=job)
    answer.raise_for_status()
    return str(answer.json()["name"])


def wait_for_seen(client: httpx.Client, name: str) -> tuple[int, list[str]]:
    deadline = time.monotonic() + 1800  # a first PyTorch environment takes a while
    while time.monotonic() < deadline:
        for entry in client.get(f"/v1/{name}/logs").json()["entries"]:
            if entry["text"].startswith("seen "):
                _, count, uuids = (entry["text"].split(" ") + [""])[:3]
                return int(count), [u for u in uuids.split(",") if u]
        if client.get(f"/v1/{name}").json()["state"] == "JOB_STATE_FAILED":
            return 0, []
        time.sleep(1)
    return 0, []


def report(gpus: list[Gpu], seen: list[tuple[int, list[str]]]) -> None:
    known = {gpu.uuid for gpu in gpus}
    print(f"{'job':>4}  {'devices':>7}  uuid")
    for number, (count, uuids) in enumerate(seen):
        print(f"{number:>4}  {count:>7}  {','.join(uuids) or '-'}")
    every = [uuid for _, uuids in seen for uuid in uuids]
    one_each = all(count == 1 for count, _ in seen)
    distinct = len(every) == len(set(every))
    from_nvml = set(every) <= known
    print(f"one device each: {one_each}; distinct: {distinct}; all NVML's: {from_nvml}")
    sys.exit(0 if one_each and distinct and from_nvml else 1)


if __name__ == "__main__":
    main()
