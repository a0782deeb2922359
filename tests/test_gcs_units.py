"""The rules behind the storage API that need no server: names, and vertexd's address."""

from __future__ import annotations

import pytest

from vertexd.storage.gcs.endpoint import emulator_host
from vertexd.storage.gcs.names import bucket_problem, object_problem


@pytest.mark.parametrize("name", ["my-bucket", "a.b.c", "data_2024", "x" * 63])
def test_valid_bucket_names(name: str) -> None:
    assert bucket_problem(name) is None


@pytest.mark.parametrize(
    "name", ["ab", "Upper", "-starts", "ends-", "goog-x", "my-google-data", "192.168.1.1", "a/b"]
)
def test_invalid_bucket_names(name: str) -> None:
    assert bucket_problem(name)


@pytest.mark.parametrize("name", ["a", "dir/file.txt", "with space", "ünïcode/ok", "folder/"])
def test_valid_object_names(name: str) -> None:
    assert object_problem(name) is None


@pytest.mark.parametrize("name", ["", "../x", "a/../b", "/abs", "a//b", "nul\0", "line\nfeed"])
def test_invalid_object_names(name: str) -> None:
    assert object_problem(name)


def test_replicas_reach_a_wildcard_bind_at_the_loopback_address() -> None:
    assert emulator_host("0.0.0.0", 8080) == "http://127.0.0.1:8080"
    assert emulator_host("192.0.2.7", 9000) == "http://192.0.2.7:9000"
    assert emulator_host("::1", 8080) == "http://[::1]:8080"
