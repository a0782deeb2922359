"""Google's Node.js client on its default transport (gRPC, no `fallback`): runs
tests/node/grpc.test.js against a real vertexd, trusting its CA with one setting."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import SKLEARN, Server
from probe_package import probe_wheel

pytestmark = pytest.mark.slow

NODE_DIR = Path(__file__).parent / "node"


def test_node_client_over_grpc(tmp_path: Path) -> None:
    installed = (NODE_DIR / "node_modules" / "@google-cloud" / "aiplatform").is_dir()
    if not (shutil.which("node") and installed):
        if os.environ.get("CI"):
            pytest.fail("CI must install the Node client: .ci/services/node.sh start")
        pytest.skip("run `npm install --prefix tests/node` (needs node) to test the Node client")
    server = Server(tmp_path / "home", "--cpus", "64", "--memory-gb", "4096", grpc=True)
    server.start()
    try:
        probe_wheel(server.home / "buckets" / "test-bucket" / "packages")
        env = {
            **os.environ,
            "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH": str(server.home / "tls" / "ca.pem"),
            "VERTEXD_GRPC_PORT": str(server.grpc_port),
            "VERTEXD_EXECUTOR": SKLEARN,
            "VERTEXD_PROBE_URI": "gs://test-bucket/packages/probe-0.1-py3-none-any.whl",
        }
        done = subprocess.run(
            ["node", "--test", "grpc.test.js"], cwd=NODE_DIR, env=env,
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert "# fail 0" in done.stdout
