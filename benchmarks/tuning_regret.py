"""Hyperparameter tuning quality and throughput on a real `vertexd serve`.

Branin (2-D) and Hartmann6 (6-D) are computed inside a real trial package (a wheel made here,
reporting with the real `cloudml-hypertune`), tuned by HyperparameterTuningJobs of 30 trials:

- regret: mean over --repeats runs of (best value found - true minimum), for the default
  algorithm (Bayesian: Optuna's TPE) and RANDOM_SEARCH, one trial at a time. Target of
  the issue: default regret <= half of random's. Runs are independent (Vertex's API has no
  seed), so repeats play the part of seeds.
- throughput: trials per minute of the same 30-trial Branin job with parallelTrialCount 1
  and 2, each trial also "training" for --trial-seconds.

    python benchmarks/tuning_regret.py [--repeats 5] [--trials 30] [--trial-seconds 0.5]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

PARENT = "projects/bench/locations/us-central1"
EXECUTOR = "us-docker.pkg.dev/vertex-ai/training/sklearn-cpu.1-0:latest"
PACKAGE = "gs://bench/tuning/benchtrial-0.1-py3-none-any.whl"
TERMINAL = ("JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED", "JOB_STATE_CANCELLED")
MINIMA = {"branin": 0.397887, "hartmann6": -3.32237}
TARGET_RATIO = 0.5

TRIAL_SOURCE = """
import argparse, math, time

import hypertune

A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
     [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]]
P = [[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
     [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
     [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
     [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]]
ALPHA = [1.0, 1.2, 3.0, 3.2]


def branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def hartmann6(x):
    return -sum(
        ALPHA[i] * math.exp(-sum(A[i][j] * (x[j] - P[i][j]) ** 2 for j in range(6)))
        for i in range(4)
    )


parser = argparse.ArgumentParser(allow_abbrev=False)
parser.add_argument("--function", required=True)
parser.add_argument("--trial-seconds", type=float, default=0.0)
for name in ("x1", "x2", "x3", "x4", "x5", "x6"):
    parser.add_argument(f"--{name}", type=float, default=0.0)
args = parser.parse_args()
time.sleep(args.trial_seconds)  # stands for training
if args.function == "branin":
    value = branin(args.x1, args.x2)
else:
    value = hartmann6([args.x1, args.x2, args.x3, args.x4, args.x5, args.x6])
hypertune.HyperTune().report_hyperparameter_tuning_metric(
    hyperparameter_metric_tag="value", metric_value=value, global_step=1
)
"""


def write_wheel(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    wheel = directory / "benchtrial-0.1-py3-none-any.whl"
    info = "benchtrial-0.1.dist-info"
    files = {
        "benchtrial/__init__.py": "",
        "benchtrial/task.py": TRIAL_SOURCE,
        f"{info}/METADATA": "Metadata-Version: 2.1\nName: benchtrial\nVersion: 0.1\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: bench\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    with zipfile.ZipFile(wheel, "w") as archive:
        for path, text in files.items():
            archive.writestr(path, text)
        archive.writestr(
            f"{info}/RECORD", "".join(f"{p},,\n" for p in files) + f"{info}/RECORD,,\n"
        )
    return wheel


def parameters(function: str) -> list[dict[str, Any]]:
    if function == "branin":
        bounds = {"x1": (-5.0, 10.0), "x2": (0.0, 15.0)}
    else:
        bounds = {f"x{i}": (0.0, 1.0) for i in range(1, 7)}
    return [
        {"parameterId": k, "doubleValueSpec": {"minValue": lo, "maxValue": hi}}
        for k, (lo, hi) in bounds.items()
    ]


def tuning_job(
    function: str, algorithm: str | None, trials: int, parallel: int, seconds: float
) -> dict[str, Any]:
    study: dict[str, Any] = {
        "metrics": [{"metricId": "value", "goal": "MINIMIZE"}],
        "parameters": parameters(function),
    }
    if algorithm:
        study["algorithm"] = algorithm
    pool = {
        "machineSpec": {"machineType": "n1-standard-4"},
        "replicaCount": "1",
        "pythonPackageSpec": {
            "executorImageUri": EXECUTOR,
            "packageUris": [PACKAGE],
            "pythonModule": "benchtrial.task",
            "args": [f"--function={function}", f"--trial-seconds={seconds}"],
        },
    }
    return {
        "displayName": f"bench-{function}",
        "maxTrialCount": trials,
        "parallelTrialCount": parallel,
        "studySpec": study,
        "trialJobSpec": {"workerPoolSpecs": [pool]},
    }


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_server(home: Path) -> tuple[subprocess.Popen[bytes], httpx.Client]:
    port = free_port()
    command = [sys.executable, "-m", "vertexd", "serve", "--home", str(home), "--port", str(port)]
    log = (home / "server.log").open("wb")
    # A budget that never holds a trial back: what is measured is vertexd, not admission.
    budget = ["--cpus", "64", "--memory-gb", "4096"]
    server = subprocess.Popen([*command, *budget], stdout=log, stderr=log)
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60)
    for _ in range(600):
        try:
            client.get("/healthz")
            return server, client
        except httpx.TransportError:
            time.sleep(0.05)
    raise RuntimeError("server did not start")


def run_job(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    created = client.post(f"/v1/{PARENT}/hyperparameterTuningJobs", json=job)
    created.raise_for_status()
    name = created.json()["name"]
    while True:
        done = client.get(f"/v1/{name}").json()
        if done["state"] in TERMINAL:
            assert done["state"] == "JOB_STATE_SUCCEEDED", done
            return dict(done)
        time.sleep(0.2)


def best_value(job: dict[str, Any]) -> float:
    return min(
        float(t["finalMeasurement"]["metrics"][0]["value"])
        for t in job["trials"]
        if "finalMeasurement" in t
    )


def trials_per_minute(job: dict[str, Any]) -> float:
    def stamp(value: str) -> float:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()

    first = min(stamp(t["startTime"]) for t in job["trials"])
    last = max(stamp(t["endTime"]) for t in job["trials"])
    return len(job["trials"]) / (last - first) * 60


def regrets(client: httpx.Client, repeats: int, trials: int) -> dict[tuple[str, str], float]:
    found: dict[tuple[str, str], float] = {}
    for function, minimum in MINIMA.items():
        for label, algorithm in (("default", None), ("random", "RANDOM_SEARCH")):
            values = []
            for _ in range(repeats):
                job = run_job(client, tuning_job(function, algorithm, trials, 1, 0.0))
                values.append(best_value(job) - minimum)
            found[(function, label)] = statistics.mean(values)
            print(f"  {function:9} {label:7} regrets: {', '.join(f'{v:.3f}' for v in values)}")
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--trial-seconds", type=float, default=0.5)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        write_wheel(home / "buckets" / "bench" / "tuning")
        server, client = start_server(home)
        try:
            run_job(client, tuning_job("branin", "RANDOM_SEARCH", 1, 1, 0.0))  # builds the env
            print(f"cores: {os.cpu_count()}, {options.trials} trials a job")
            found = regrets(client, options.repeats, options.trials)
            speed = {
                parallel: trials_per_minute(
                    run_job(
                        client,
                        tuning_job("branin", None, options.trials, parallel, options.trial_seconds),
                    )
                )
                for parallel in (1, 2)
            }
        finally:
            server.terminate()
            server.wait()
    report(found, speed, options)


def report(
    found: dict[tuple[str, str], float], speed: dict[int, float], options: argparse.Namespace
) -> None:
    print(f"mean best regret over {options.repeats} runs (lower is better):")
    for function in MINIMA:
        default, random = found[(function, "default")], found[(function, "random")]
        ratio = default / random if random else float("inf")
        print(
            f"  {function:9} default {default:8.4f}  random {random:8.4f}  "
            f"default/random {ratio:5.2f}  (target <= {TARGET_RATIO})"
        )
    print(f"throughput, trials of {options.trial_seconds:g} s of training:")
    print(f"  parallelTrialCount 1: {speed[1]:6.1f} trials/min")
    print(f"  parallelTrialCount 2: {speed[2]:6.1f} trials/min")
    print(f"  ratio 2 / 1:          {speed[2] / speed[1]:6.2f}")


if __name__ == "__main__":
    main()
