"""A training module for tests, shipped as a wheel made on the fly. Standard library only."""

from __future__ import annotations

from pathlib import Path

from conftest import write_wheel

PROBE_SOURCE = """
import argparse, json, os, subprocess, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--sleep", type=float, default=0)
parser.add_argument("--exit", type=int, default=0)
parser.add_argument("--pid-file", default="")
parser.add_argument("--env-file", default="")
parser.add_argument("--say", default="hello from the probe")
args, unknown = parser.parse_known_args()

print(args.say, flush=True)
print("to stderr", file=sys.stderr, flush=True)
if args.env_file:
    with open(args.env_file, "w") as out:
        json.dump({"env": dict(os.environ), "argv": sys.argv, "cwd": os.getcwd()}, out)
if args.pid_file:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    with open(args.pid_file, "w") as out:
        json.dump({"me": os.getpid(), "child": child.pid, "pgid": os.getpgid(0)}, out)
time.sleep(args.sleep)
print("last words", flush=True)
sys.exit(args.exit)
"""


def probe_wheel(directory: Path) -> Path:
    return write_wheel(directory, "probe", {"probe/__init__.py": "", "probe/task.py": PROBE_SOURCE})
