"""Schemathesis (from PyPI) against `/openapi.json` of a real server that requires a token:
a bounded number of generated requests per operation, checking that none gets a server error
and every answer matches the documented schema (errors in Vertex's shape included).
VERTEXD_FUZZ_EXAMPLES and VERTEXD_FUZZ_SEED change the bounds and the seed."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import Server

pytestmark = pytest.mark.slow

TOKEN = "fuzz-token"


def test_schemathesis_finds_no_server_error_and_no_schema_mismatch(tmp_path: Path) -> None:
    (tmp_path / "token").write_text(TOKEN)
    # One CPU and no container engine: anything the fuzzer manages to create stays small.
    token = str(tmp_path / "token")
    limits = ("--cpus", "1", "--container-engine", "none")
    server = Server(tmp_path / "home", *limits, "--auth-token-file", token)
    server.start()
    try:
        command = [sys.executable, "-m", "schemathesis.cli", "run", f"{server.url}/openapi.json"]
        command += ["--checks", "not_a_server_error,response_schema_conformance"]
        command += ["--max-examples", os.environ.get("VERTEXD_FUZZ_EXAMPLES", "30")]
        command += ["--seed", os.environ.get("VERTEXD_FUZZ_SEED", "13"), "--workers", "1"]
        command += ["--header", f"Authorization: Bearer {TOKEN}", "--no-color"]
        done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    finally:
        server.stop()
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failures" not in done.stdout.split("SUMMARY")[-1]
