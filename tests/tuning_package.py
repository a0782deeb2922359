"""A trial package for tuning tests, shipped as a wheel made on the fly. It reports with the
real `cloudml-hypertune` package, unchanged (every executor environment installs it)."""

from __future__ import annotations

from pathlib import Path

from conftest import write_wheel

TRIAL_SOURCE = """
import argparse, json, math, os, sys, time

import hypertune

parser = argparse.ArgumentParser(allow_abbrev=False)
parser.add_argument("--objective", default="0")  # a Python expression of the parameters
parser.add_argument("--metric-id", default="score")
parser.add_argument("--steps", type=int, default=1)
parser.add_argument("--sleep", type=float, default=0)
parser.add_argument("--record-dir", default="")
parser.add_argument("--fail-when", default="")  # an expression: exit 3 when it holds
parser.add_argument("--silent-when", default="")  # an expression: report nothing when it holds
parser.add_argument("--bad-from-trial", type=int, default=0)  # later trials: slow and bad
parser.add_argument("--pid-dir", default="")
args, rest = parser.parse_known_args()

params = {}
for item in rest:
    key, _, raw = item.lstrip("-").partition("=")
    try:
        params[key] = float(raw) if "." in raw or "e" in raw.lower() else int(raw)
    except ValueError:
        params[key] = raw
scope = {**vars(math), **params, "params": params}
trial = os.environ.get("CLOUD_ML_TRIAL_ID", "")
if args.record_dir:
    os.makedirs(args.record_dir, exist_ok=True)
    keep = ("CLOUD_ML_TRIAL_ID", "CLUSTER_SPEC", "TF_CONFIG", "AIP_MODEL_DIR",
            "AIP_CHECKPOINT_DIR", "AIP_TENSORBOARD_LOG_DIR", "CLOUD_ML_HP_METRIC_FILE")
    record = {"argv": sys.argv[1:], "params": params,
              "env": {k: os.environ.get(k) for k in keep}}
    with open(os.path.join(args.record_dir, f"trial-{trial}.json"), "w") as out:
        json.dump(record, out)
if args.pid_dir:
    os.makedirs(args.pid_dir, exist_ok=True)
    with open(os.path.join(args.pid_dir, f"trial-{trial}.pid"), "w") as out:
        out.write(str(os.getpid()))
if args.fail_when and eval(args.fail_when, scope):
    print("failing on purpose", file=sys.stderr, flush=True)
    sys.exit(3)
if args.silent_when and eval(args.silent_when, scope):
    print("reporting nothing", flush=True)
    sys.exit(0)
value = float(eval(args.objective, scope))
bad = args.bad_from_trial and int(trial or 0) >= args.bad_from_trial
steps = args.steps * (5 if bad else 1)
tuner = hypertune.HyperTune()
for step in range(1, steps + 1):
    time.sleep(args.sleep)
    reported = -1000.0 - step if bad else value - 0.01 * (steps - step)
    tuner.report_hyperparameter_tuning_metric(
        hyperparameter_metric_tag=args.metric_id, metric_value=reported, global_step=step
    )
print(f"trial {trial}: {args.metric_id}={value}", flush=True)
"""


def tuning_wheel(directory: Path) -> Path:
    return write_wheel(
        directory, "tunetrial", {"tunetrial/__init__.py": "", "tunetrial/task.py": TRIAL_SOURCE}
    )
