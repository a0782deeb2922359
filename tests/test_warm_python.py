"""Warm Python: a `python -m MODULE` replica forked from a started interpreter is the replica a
new interpreter would have been, as its module sees itself and as vertexd records it.

The interpreter here is the test's own (an environment vertexd built behaves the same: it
is a venv of this Python); each test compares against the same module run anew.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from conftest import wait_exit_code
from vertexd.backends.forkserver import ForkServer
from vertexd.backends.local import host_env
from vertexd.backends.process_group import kill_group
from vertexd.backends.warm_python import KEPT, WarmPythons
from vertexd.core.joblog import read_entries

# What the module sees of itself; the fields that a warm start must not change.
REPORT = textwrap.dedent(
    """
    import json, os, signal, sys
    report = {
        "argv": sys.argv, "orig_argv": sys.orig_argv, "path0": sys.path[0], "cwd": os.getcwd(),
        "path": sys.path, "env": dict(os.environ), "name": __name__,
        "globals": sorted(k for k in globals() if k != "report"),
        "ours": sorted(m for m in sys.modules if m.split(".")[0] == "vertexd"),
        "signals": [str(signal.getsignal(s)) for s in (signal.SIGINT, signal.SIGTERM)],
        "stdout": [sys.stdout.encoding, sys.stdout.line_buffering, sys.stdout.write_through],
        "stdin": sys.stdin.read(),
        "pgid_is_parent": os.getpgid(0) == os.getppid(),
        "cmdline": open("/proc/self/cmdline").read().split("\\0"),
    }
    print(json.dumps(report))
    print("to stderr", file=sys.stderr)
    if len(sys.argv) > 1 and sys.argv[1] == "raise":
        raise ValueError("as it would")
    if len(sys.argv) > 1 and sys.argv[1] == "sleep":
        import time; time.sleep(60)
    sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 and sys.argv[1].isdigit() else 0)
    """
)
SAME_WHEN_WARM = ("argv", "orig_argv", "path0", "cwd", "path", "env", "name", "globals", "ours")


@pytest.fixture
def module_dir(tmp_path: Path) -> Path:
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "reporter.py").write_text(REPORT)
    return tmp_path / "work"


@pytest.fixture
def warm() -> Iterator[WarmPythons]:
    pythons = WarmPythons(host_env())
    yield pythons
    pythons.close()


def _env(**extra: str) -> dict[str, str]:
    return {**host_env(), "PYTHONUNBUFFERED": "1", "JOB_ONLY": "a job's own value", **extra}


def _run_warm(
    forks: ForkServer, where: Path, args: list[str], env: dict[str, str], task: str = "w-0"
) -> tuple[int, int]:
    """(runner pid, exit code) of the reporter started by `forks`."""
    exit_file = where.parent / f"{task}.exit"
    runner = [str(where.parent / "job.log"), task, str(exit_file), "0"]
    pid = forks.spawn(runner, [sys.executable, "-m", "reporter", *args], str(where), env)
    return pid, wait_exit_code(exit_file)


def _logged(where: Path, task: str = "w-0") -> tuple[dict[str, object], list[str]]:
    entries = [e for e in read_entries(where.parent / "job.log")[0] if e["taskName"] == task]
    stdout = [str(e["text"]) for e in entries if e["stream"] == "stdout"]
    return json.loads(stdout[0]), [str(e["text"]) for e in entries if e["stream"] == "stderr"]


def _run_new(where: Path, args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "reporter", *args]
    return subprocess.run(
        command, cwd=where, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )


def test_a_warm_replica_sees_what_a_new_interpreter_sees(
    module_dir: Path, warm: WarmPythons
) -> None:
    env = _env()
    forks = warm.server_for(sys.executable, env)
    _, code = _run_warm(forks, module_dir, ["7"], env)
    report, stderr = _logged(module_dir)
    fresh = _run_new(module_dir, ["7"], env)
    expected = json.loads(fresh.stdout)
    assert code == fresh.returncode == 7
    for field in SAME_WHEN_WARM:
        assert report[field] == expected[field], field
    assert report["ours"] == [] and report["env"]["JOB_ONLY"] == "a job's own value"  # type: ignore[index]
    assert report["stdout"] == expected["stdout"] and report["signals"] == expected["signals"]
    assert report["stdin"] == "" and report["pgid_is_parent"] is True  # the runner's group
    assert stderr == ["to stderr"]
    # It was forked: its command line is the fork server's, not `python -m reporter 7`.
    assert _forked(report) and not _forked(expected)


def test_errors_end_it_as_they_end_a_new_interpreter(module_dir: Path, warm: WarmPythons) -> None:
    env = _env()
    forks = warm.server_for(sys.executable, env)
    _, code = _run_warm(forks, module_dir, ["raise"], env)
    _, stderr = _logged(module_dir)
    fresh = _run_new(module_dir, ["raise"], env)
    assert code == fresh.returncode == 1
    assert stderr == fresh.stderr.splitlines()  # the same traceback, line for line
    assert stderr[-1] == "ValueError: as it would"


def test_a_group_kill_reaches_the_forked_replica(module_dir: Path, warm: WarmPythons) -> None:
    env = _env()
    forks = warm.server_for(sys.executable, env)
    exit_file = module_dir.parent / "w-0.exit"
    runner = [str(module_dir.parent / "job.log"), "w-0", str(exit_file), "0"]
    pid = forks.spawn(runner, [sys.executable, "-m", "reporter", "sleep"], str(module_dir), env)
    deadline = time.monotonic() + 30
    while not psutil.Process(pid).children():
        assert time.monotonic() < deadline, "the replica did not start"
        time.sleep(0.01)
    (replica,) = psutil.Process(pid).children()
    kill_group(pid, None, force=False)  # what cancel does first: SIGTERM to the group
    assert wait_exit_code(exit_file) == 128 + signal.SIGTERM
    assert not psutil.pid_exists(replica.pid) or replica.status() == psutil.STATUS_ZOMBIE


def test_other_start_up_variables_get_a_fork_server_of_their_own(
    module_dir: Path, warm: WarmPythons
) -> None:
    plain, seeded = _env(), _env(PYTHONHASHSEED="123")
    first, second = warm.server_for(sys.executable, plain), warm.server_for(sys.executable, seeded)
    assert first is not second and warm.server_for(sys.executable, plain) is first
    _run_warm(second, module_dir, [], seeded)
    report, _ = _logged(module_dir)
    assert report["env"]["PYTHONHASHSEED"] == "123"  # type: ignore[index]
    # Asked of a fork server started otherwise, a replica is started anew, as asked.
    _run_warm(first, module_dir, [], seeded, task="w-1")
    anew, _ = _logged(module_dir, "w-1")
    assert _forked(report) and not _forked(anew)
    assert anew["env"]["PYTHONHASHSEED"] == "123"  # type: ignore[index]


def test_past_the_kept_number_the_oldest_closes_and_its_replica_goes_on(
    module_dir: Path, warm: WarmPythons
) -> None:
    envs = [_env(PYTHONHASHSEED=str(seed)) for seed in range(KEPT + 1)]
    oldest = warm.server_for(sys.executable, envs[0])
    exit_file = module_dir.parent / "w-0.exit"
    runner = [str(module_dir.parent / "job.log"), "w-0", str(exit_file), "0"]
    oldest.spawn(
        runner, [sys.executable, "-c", "import time; time.sleep(1)"], str(module_dir), envs[0]
    )
    for env in envs[1:]:
        warm.server_for(sys.executable, env)
    assert len(warm) == KEPT
    assert warm.server_for(sys.executable, envs[0]) is not oldest  # it was closed
    assert wait_exit_code(exit_file) == 0


def _forked(report: dict[str, object]) -> bool:
    """Whether the reporter ran in a warm fork server's process (its command line)."""
    return "vertexd.backends.warm_python" in " ".join(report["cmdline"])  # type: ignore[arg-type]


@pytest.mark.parametrize("warm_python", [True, False])
def test_the_local_backend_forks_package_replicas_unless_told_not_to(
    module_dir: Path, warm_python: bool
) -> None:
    from vertexd.backends.local import LocalBackend
    from vertexd.launch.plan import LaunchPlan, PythonEnvSpec, ReplicaPlan, Resources

    replica = ReplicaPlan(
        "workerpool0-0",
        (sys.executable, "-m", "reporter"),
        {"PYTHONUNBUFFERED": "1"},
        module_dir,
        Resources(),
        python_env=PythonEnvSpec("an executor image", ()),
    )
    plan = LaunchPlan("1", module_dir.parent / "run", module_dir.parent / "job.log", (replica,))
    plan.run_dir.mkdir()
    backend = LocalBackend(warm_python=warm_python)
    try:
        backend.submit(plan)
        assert wait_exit_code(plan.run_dir / "workerpool0-0.exit") == 0
    finally:
        backend.close()
    report, _ = _logged(module_dir, "workerpool0-0")
    assert _forked(report) is warm_python
    assert report["orig_argv"] == [sys.executable, "-m", "reporter"]
