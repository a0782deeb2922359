"""The README's quick start, run exactly as written (with a home of its own)."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent


def quickstart_command() -> str:
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```bash\n(.*?)\n```", readme, re.S)
    assert first_block, "the README has no quick start"
    install, _, run = first_block.group(1).partition(" && ")
    assert install.startswith("pip install") and run.startswith("vertexd ")
    return run


def test_quickstart_trains_the_example_and_writes_its_model(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("VERTEXD_")}
    env["VERTEXD_HOME"] = str(home)
    try:
        done = subprocess.run(
            shlex.split(quickstart_command()), cwd=ROOT, env=env, capture_output=True,
            text=True, timeout=600,
        )  # fmt: skip
    finally:
        record = home / "server.json"
        if record.exists():
            os.kill(json.loads(record.read_text())["pid"], signal.SIGTERM)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "JOB_STATE_SUCCEEDED" in done.stdout + done.stderr
    assert "test accuracy" in done.stdout
    assert "Started a vertexd server in the background" in done.stderr
    model_dir = home / "buckets" / "vertexd-examples" / "logreg-output" / "model"
    metrics = json.loads((model_dir / "metrics.json").read_text())
    assert 0.6 < metrics["accuracy"] <= 1.0
    # The model loads and predicts in the job's own environment (where scikit-learn is).
    python = next((home / "envs").glob("sklearn-cpu-*/bin/python"))
    model = str(model_dir / "model.joblib")
    load = f"import joblib; print(joblib.load({model!r}).predict([[0.0] * 20]))"
    predicted = subprocess.run([python, "-c", load], capture_output=True, text=True, check=True)
    assert re.fullmatch(r"\[[01]\]\n", predicted.stdout)
