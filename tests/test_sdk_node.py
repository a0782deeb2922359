"""Google's Node.js client, unmodified: runs tests/node/clients.test.js against a real vertexd."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SKLEARN, Server
from probe_package import probe_wheel
from tuning_package import tuning_wheel

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).parent / "node"


def test_node_client_against_vertexd(server: Server) -> None:
    installed = (NODE_DIR / "node_modules" / "@google-cloud" / "aiplatform").is_dir()
    if not (shutil.which("node") and installed):
        if os.environ.get("CI"):
            pytest.fail("CI must install the Node client: .ci/services/node.sh start")
        pytest.skip("run `npm install --prefix tests/node` (needs node) to test the Node client")
    probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
    tuning_wheel(server.home / "buckets" / "test-bucket" / "tuning")
    env = {
        **os.environ,
        "VERTEXD_PORT": str(server.port),
        "VERTEXD_EXECUTOR": SKLEARN,
        "VERTEXD_PROBE_URI": "gs://test-bucket/packages/probe-0.1-py3-none-any.whl",
        "VERTEXD_TUNING_URI": "gs://test-bucket/tuning/tunetrial-0.1-py3-none-any.whl",
    }
    done = subprocess.run(
        ["node", "--test", "clients.test.js"], cwd=NODE_DIR, env=env,
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    # (The message, the server's log with it, is built only when the assert fails.)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:] + server.log_tail()
    assert "# fail 0" in done.stdout
