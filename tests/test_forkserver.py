"""The fork server that starts replica runners: what a replica sees and what survives what."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from conftest import Server, python_job, wait_exit_code
from probe_package import probe_wheel
from vertexd.backends.forkserver import RUNNER_NAME, ForkServer, ForkServerError
from vertexd.core.joblog import read_entries

PROBE = "gs://test-bucket/packages/probe-0.1-py3-none-any.whl"


def _spawn(forks: ForkServer, tmp_path: Path, script: str, task: str = "workerpool0-0") -> int:
    runner = [str(tmp_path / "job.log"), task, str(tmp_path / f"{task}.exit"), "0"]
    env = {"PATH": os.environ["PATH"], "GREETING": "hello"}
    return forks.spawn(runner, ["sh", "-c", script], str(tmp_path), env)


def test_runner_leads_its_own_session_logs_and_records_the_exit(tmp_path: Path) -> None:
    forks = ForkServer()
    try:
        pid = _spawn(forks, tmp_path, 'echo "$GREETING from $(pwd)"; sleep 0.3; exit 3')
        assert os.getsid(pid) == pid and os.getpgid(pid) == pid  # its group is the replica's
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)  # not this process's child: it survives our end
        assert wait_exit_code(tmp_path / "workerpool0-0.exit") == 3
    finally:
        forks.close()
    texts = [entry["text"] for entry in read_entries(tmp_path / "job.log")[0]]
    assert f"hello from {tmp_path}" in texts


def test_a_killed_fork_server_is_started_anew(tmp_path: Path) -> None:
    forks = ForkServer()
    try:
        _spawn(forks, tmp_path, "exit 0", "workerpool0-0")
        (first,) = _fork_servers()
        os.kill(first, signal.SIGKILL)
        psutil.Process(first).wait(timeout=10)
        _spawn(forks, tmp_path, "exit 4", "workerpool1-0")
        assert wait_exit_code(tmp_path / "workerpool1-0.exit") == 4
        assert _fork_servers() and first not in _fork_servers()
    finally:
        forks.close()
    assert not _fork_servers()


def test_a_missing_working_folder_is_refused(tmp_path: Path) -> None:
    forks = ForkServer()
    try:
        with pytest.raises(ForkServerError, match="No such directory"):
            forks.spawn(
                [str(tmp_path / "log"), "t", str(tmp_path / "x"), "0"], ["true"], "/nope", {}
            )
    finally:
        forks.close()


def test_runners_outlive_the_fork_server_and_it_ends_with_its_owner(tmp_path: Path) -> None:
    forks = ForkServer()
    pid = _spawn(forks, tmp_path, "sleep 1; exit 7")
    assert psutil.Process(pid).name() == RUNNER_NAME.decode()
    forks.close()  # what the vertexd server's exit (or kill -9) does: the pipe closes
    assert not _fork_servers()
    assert psutil.pid_exists(pid)
    assert wait_exit_code(tmp_path / "workerpool0-0.exit") == 7


@pytest.mark.slow
def test_kill_9_of_vertexd_leaves_no_fork_server(tmp_path: Path) -> None:
    server = Server(tmp_path / "home", "--cpus", "8")
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    server.start()
    try:
        name = server.create(python_job("probe.task", PROBE)).json()["name"]
        assert server.wait_for(name, "JOB_STATE_SUCCEEDED", "JOB_STATE_FAILED")["state"] == (
            "JOB_STATE_SUCCEEDED"
        )
        owned = [psutil.Process(pid) for pid in _fork_servers(parent=server.engine.pid)]
        assert len(owned) == 2  # vertexd's own, and the warm one of the job's environment
        server.stop(kill=True)
        _, alive = psutil.wait_procs(owned, timeout=10)
        assert not alive
    finally:
        server.stop()


def _fork_servers(parent: int | None = None) -> list[int]:
    """Fork servers started by this test process (or by a server it started), or by `parent`:
    not their runners, nor replicas forked from a warm one (their parent is a runner)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status", "name", "ppid"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        try:
            forked = psutil.Process(process.info["ppid"]).name() == RUNNER_NAME.decode()
        except psutil.Error:
            forked = True  # its parent has gone: not a fork server's parent, a server
        if (
            ("forkserver import serve" in cmdline or "backends.warm_python" in cmdline)
            and process.info["name"] != RUNNER_NAME.decode()
            and not forked
            and process.info["status"] != "zombie"
            and parent in (None, process.info["ppid"])
        ):
            found.append(process.pid)
    return found


def test_a_runner_that_ends_while_it_is_looked_at_is_seen_with_its_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race between the two looks of a poll (exit file, then liveness): a fake `alive`
    records the exit as the runner would, right as the poll looks, and says it is gone."""
    from vertexd.backends import local, process_group
    from vertexd.backends.handles import LocalReplica

    exit_file = tmp_path / "workerpool0-0.exit"
    replica = LocalReplica(task="workerpool0-0", pid=1, start_time=None, exit_file=str(exit_file))

    def ends_now(pid: int, started: float | None) -> bool:
        process_group.record_exit(exit_file, 0)
        return False

    monkeypatch.setattr(local.process_group, "alive", ends_now)
    backend = local.LocalBackend()
    try:
        status = backend._status(replica)
    finally:
        backend.close()
    assert not status.lost and status.exit_code == 0
