"""A training module for tests, shipped as a wheel made on the fly. Standard library only.

Every replica runs the same module; it reads its task name (workerpool1-0...) from
CLUSTER_SPEC, so one job can make a single replica fail, sleep, or dump its environment.
"""

from __future__ import annotations

from pathlib import Path

from conftest import write_wheel

PROBE_SOURCE = """
import argparse, json, os, subprocess, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--sleep", type=float, default=0)
parser.add_argument("--chief-sleep", type=float, default=None)
parser.add_argument("--exit", type=int, default=0)
parser.add_argument("--pid-file", default="")
parser.add_argument("--pid-dir", default="")
parser.add_argument("--env-file", default="")
parser.add_argument("--env-dir", default="")
parser.add_argument("--fail-task", default="")
parser.add_argument("--fail-once-file", default="")
parser.add_argument("--say", default="hello from the probe")
parser.add_argument("--chief-waits-for", type=int, default=0, help="env files in --env-dir")
parser.add_argument("--until-file", default="", help="after the sleep, wait until it exists")
args, unknown = parser.parse_known_args()

spec = json.loads(os.environ.get("CLUSTER_SPEC", "{}")).get("task", {})
task = f"{spec.get('type', 'workerpool0')}-{spec.get('index', 0)}"
print(args.say, flush=True)
print("to stderr", file=sys.stderr, flush=True)
record = {"env": dict(os.environ), "argv": sys.argv, "cwd": os.getcwd()}
if args.env_file:
    with open(args.env_file, "w") as out:
        json.dump(record, out)
if args.env_dir:
    with open(os.path.join(args.env_dir, task + ".json"), "w") as out:
        json.dump(record, out)
pid_file = args.pid_file or (os.path.join(args.pid_dir, task + ".json") if args.pid_dir else "")
if pid_file:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(pid_file + ".tmp", "w") as out:
        ids = {"me": os.getpid(), "parent": os.getppid(), "pgid": os.getpgid(0), "child": child.pid}
        json.dump(ids, out)
    os.replace(pid_file + ".tmp", pid_file)
if task == args.fail_task:
    if not args.fail_once_file or not os.path.exists(args.fail_once_file):
        if args.fail_once_file:
            open(args.fail_once_file, "w").close()
        time.sleep(0.5)
        print("failing on purpose", flush=True)
        sys.exit(5)
if task == "workerpool0-0" and args.chief_waits_for:
    deadline = time.time() + 60
    while len(os.listdir(args.env_dir)) < args.chief_waits_for and time.time() < deadline:
        time.sleep(0.05)
chief = task == "workerpool0-0" and args.chief_sleep is not None
time.sleep(args.chief_sleep if chief else args.sleep)
deadline = time.time() + 120
while args.until_file and not os.path.exists(args.until_file) and time.time() < deadline:
    time.sleep(0.05)
print("last words", flush=True)
sys.exit(args.exit)
"""


def probe_wheel(directory: Path) -> Path:
    return write_wheel(directory, "probe", {"probe/__init__.py": "", "probe/task.py": PROBE_SOURCE})
