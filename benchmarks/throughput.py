"""Jobs per second: 500 trivial jobs created at once, with room for all of them and when each
must run alone, against the floor of the same module run by a shell loop, in one run.

For each capacity a real `vertexd serve` starts in a temporary home; one trivial
pythonPackageSpec job (a module that parses its arguments and exits) caches its Python
environment; then --jobs jobs are created by --clients clients at once while a probe client
creates, gets and lists every 20 ms (api_under_load.py's load). Printed per capacity:
jobs/s (the burst's jobs over the seconds from first create to last end), how many
SUCCEEDED (none may be lost), vertexd's CPU per job (the server, its engine and fork
servers; the replicas apart), and the probe's p99 latencies against the seams issue's
targets; then the same burst without the probe, three times, for jobs/s and vertexd's own
CPU per job (the median).
The floor: the same module, with the same environment's Python, started 50 times by `bash`
one after another and all at once (`&`, then `wait`): processes/s and CPU per process, the
mean of a measure before the runs and one after (the host's speed drifts).

    python benchmarks/throughput.py [--jobs 500] [--clients 50]

Targets (issue "Throughput", 2 cores): >= 50 jobs/s with room for all, >= 20 jobs/s alone.
Printed, never asserted.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from api_under_load import (  # benchmarks/, beside this script
    ROOM_FOR_ALL,
    SUCCEEDED,
    TARGETS_MS,
    Run,
    after_burst,
    idle,
    load,
    percentiles,
    start_server,
    wait_ended,
)
from light_http import Client

ALONE = ("--cpus", "4", "--memory-gb", "15")  # one n1-standard-4 replica at a time
CAPACITIES = {"room for all": ROOM_FOR_ALL, "one at a time": ALONE}
TARGETS = {"room for all": 50.0, "one at a time": 20.0}  # jobs/s
TARGET_CPU_MS = 15.0  # vertexd's own CPU per job, measured without the probe's calls
BARE_WHEN_SET_MS = 30.0  # the CPU of the bare process on the machine the target was set on
FLOOR_PROCESSES = 50
QUIET_RUNS = 3  # the host's speed drifts between runs: the median of these is reported
MODULE = "bench_task.main"


def measure(
    capacity: tuple[str, ...], jobs: int, clients: int
) -> tuple[Run, list[Run], dict[str, float]]:
    """On a new server of that capacity: the load run, QUIET_RUNS of the same without the
    probe (vertexd's own CPU per job, with no API calls but the creates and one waiter), and
    the floor."""
    with tempfile.TemporaryDirectory() as tmp:
        server, url = start_server(Path(tmp), capacity)
        try:
            with Client(url) as client:
                idle(client, 0)  # the environment is built once
            floor = shell_floor(environment_python(Path(tmp)))  # while the server is idle
            run = load(url, server.pid, jobs, clients)
            with Client(url) as client:  # the probe's last jobs
                waited = {body["name"] for body in run.ended}
                wait_ended(client, [name for name in run.names if name not in waited])
            quiet = [load(url, server.pid, jobs, clients, probe=False) for _ in range(QUIET_RUNS)]
            # The host's speed drifts by tens of percent over minutes (shared cores): the
            # floor is measured before and after, and its mean is what the runs compare to.
            after = shell_floor(environment_python(Path(tmp)))
            floor = {key: (value + after[key]) / 2 for key, value in floor.items()}
        finally:
            server.terminate()
            server.wait()
    return run, quiet, floor


def environment_python(home: Path) -> Path:
    found = sorted((home / "envs").glob("*/bin/python"))
    if not found:
        raise RuntimeError(f"no Python environment was made under {home / 'envs'}")
    return found[0]


def shell_floor(python: Path) -> dict[str, float]:
    """Processes/s and CPU ms per process of a bash loop running the module, serial and &."""
    floor = {}
    each = f'for i in $(seq {FLOOR_PROCESSES}); do "$PY" -m {MODULE} --index $i'
    for how, loop in (("serial", f"{each}; done"), ("at once", f"{each} & done; wait")):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        started = time.perf_counter()
        subprocess.run(["bash", "-c", loop], env={**os.environ, "PY": str(python)}, check=True)
        wall = time.perf_counter() - started
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        floor[f"{how} /s"] = FLOOR_PROCESSES / wall
        floor[f"{how} cpu ms"] = cpu / FLOOR_PROCESSES * 1000
    return floor


def report(name: str, run: Run, quiet: list[Run], floor: dict[str, float], jobs: int) -> None:
    created = len(run.ms["burst"])
    succeeded = sum(1 for body in run.ended if body["state"] == SUCCEEDED)
    rate = created / run.wall
    itself, replicas, clients = run.cpu
    # The probe's jobs ran too: CPU is shared over every job that ended.
    per_job = 1000 / max(len(run.ended), 1)
    verdict = "met" if rate >= TARGETS[name] else "NOT met"
    print(f"{name} ({' '.join(CAPACITIES[name])}):")
    print(f"  {rate:6.1f} jobs/s ({created} created at once, {run.wall:.1f} s to the last end); "
          f"target >= {TARGETS[name]:g}: {verdict}")  # fmt: skip
    print(f"  {succeeded}/{len(run.ended)} SUCCEEDED, {jobs - created} not created, "
          f"{len(run.errors)} failed calls")  # fmt: skip
    print(f"  CPU per job: vertexd {itself * per_job:.1f} ms (with the probe's calls), its "
          f"replicas (runner and module) {replicas * per_job:.1f} ms; this benchmark's clients "
          f"{clients * per_job:.1f} ms (all on the same cores)")  # fmt: skip
    owns = [one.cpu[0] * 1000 / max(len(one.ended), 1) for one in quiet]
    own, bare = statistics.median(owns), floor["serial cpu ms"]
    verdict = "met" if own <= TARGET_CPU_MS else "NOT met"
    rates = ", ".join(f"{len(one.ms['burst']) / one.wall:.1f}" for one in quiet)
    print(f"  without the probe, {len(quiet)} runs: {rates} jobs/s; vertexd "
          f"{', '.join(f'{ms:.1f}' for ms in owns)} ms CPU a job, median {own:.1f} (target <= "
          f"{TARGET_CPU_MS:g}: {verdict}), {own / bare:.2f} x the bare process's {bare:.0f} ms "
          f"(the target's ratio: {TARGET_CPU_MS / BARE_WHEN_SET_MS:.2f})")  # fmt: skip
    for when, calls in (
        ("with the burst's creates", lambda kind: run.ms[kind]),
        ("after them (the jobs run)", lambda kind: after_burst(run, kind)),
    ):
        p99 = {kind: percentiles(calls(kind))[2] for kind in TARGETS_MS if len(calls(kind)) > 1}
        print(f"  probe p99 {when}: " + ", ".join(
            f"{kind} {value:.0f} ms (target {TARGETS_MS[kind]:g})" for kind, value in p99.items()
        ))  # fmt: skip
    like = "at once" if name == "room for all" else "serial"  # the floor this run compares to
    print(f"  floor, {FLOOR_PROCESSES} x `python -m {MODULE}` by bash: serial "
          f"{floor['serial /s']:.1f}/s ({floor['serial cpu ms']:.0f} ms CPU each), at once "
          f"{floor['at once /s']:.1f}/s ({floor['at once cpu ms']:.0f} ms CPU each); "
          f"vertexd / floor ({like}): {rate / floor[f'{like} /s']:.2f}")  # fmt: skip
    for error in run.errors[:5]:
        print(f"  failed call: {error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    options = parser.parse_args()
    print(f"cores: {os.cpu_count()}; {options.jobs} jobs by {options.clients} clients at once")
    for name, capacity in CAPACITIES.items():
        run, quiet, floor = measure(capacity, options.jobs, options.clients)
        report(name, run, quiet, floor, options.jobs)


if __name__ == "__main__":
    main()
