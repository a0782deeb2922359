"""Storage URIs: local buckets, file://, plain paths, and gs:// through fsspec in "gcs" mode."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fsspec.implementations.memory import MemoryFileSystem
from fsspec.registry import _registry as fsspec_registry

from vertexd.core.errors import InvalidArgument
from vertexd.storage import Storage, check_uri


@pytest.fixture
def buckets(tmp_path: Path) -> Path:
    root = tmp_path / "buckets"
    for name in [
        "pkgs/trainer-0.1.tar.gz",
        "out/model/a.bin",
        "out/model/sub/b.bin",
        "out/mod.txt",
    ]:
        path = root / "bkt" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    return root


def test_local_paths_of_each_scheme(
    buckets: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    storage = Storage(buckets)
    assert storage.local_path("gs://bkt/a/b") == buckets.resolve() / "bkt" / "a" / "b"
    assert storage.local_path("gs://bkt") == buckets.resolve() / "bkt"
    assert storage.local_path("file:///x/y") == Path("/x/y")
    monkeypatch.chdir(tmp_path)
    assert storage.local_path("rel/p.whl") == (tmp_path / "rel" / "p.whl").resolve()
    gcs = Storage(buckets, "gcs")
    assert gcs.local_path("gs://bkt/a/b") is None
    assert gcs.local_path("file:///x/y") == Path("/x/y")
    assert gcs.local_path("/abs/p") == Path("/abs/p")


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("s3://bkt/x", "s3://"),
        ("http://example.com/p.tar.gz", "http://"),
        ("gs://", "bucket"),
        ("gs://Bad_Bucket/x", "bucket"),
        ("gs://bkt/../etc/passwd", ".."),
        ("file://relative/x", "absolute"),
        ("", "empty"),
    ],
)
def test_check_uri_explains_what_is_wrong(uri: str, expected: str) -> None:
    message = check_uri(uri)
    assert message is not None and expected in message


@pytest.mark.parametrize(
    "uri", ["gs://bkt/p.tar.gz", "gs://b/out/", "file:///tmp/x.whl", "/a/b", "a/b"]
)
def test_check_uri_accepts_supported_schemes(uri: str) -> None:
    assert check_uri(uri) is None


def test_unsupported_scheme_is_an_invalid_argument(buckets: Path) -> None:
    with pytest.raises(InvalidArgument, match="s3://"):
        Storage(buckets).local_path("s3://bkt/x")


def test_fetch_copies_one_file_keeping_its_name(buckets: Path, tmp_path: Path) -> None:
    storage = Storage(buckets)
    fetched = storage.fetch("gs://bkt/pkgs/trainer-0.1.tar.gz", tmp_path / "dest")
    assert fetched == tmp_path / "dest" / "trainer-0.1.tar.gz"
    assert fetched.read_bytes() == b"pkgs/trainer-0.1.tar.gz"
    source = buckets / "bkt" / "out" / "mod.txt"
    assert storage.fetch(f"file://{source}", tmp_path / "d2").read_bytes() == b"out/mod.txt"
    assert storage.fetch(str(source), tmp_path / "d3").name == "mod.txt"


def test_missing_file_names_the_uri(buckets: Path, tmp_path: Path) -> None:
    storage = Storage(buckets)
    uri = "gs://bkt/pkgs/nothere-0.1.tar.gz"
    with pytest.raises(InvalidArgument) as caught:
        storage.fetch(uri, tmp_path)
    assert uri in caught.value.message and "not found" in caught.value.message
    with pytest.raises(InvalidArgument, match="not found"):
        storage.read_bytes("gs://bkt/nothing")
    with pytest.raises(InvalidArgument, match="directory"):
        storage.fetch("gs://bkt/pkgs", tmp_path)


def test_read_bytes(buckets: Path) -> None:
    assert Storage(buckets).read_bytes("gs://bkt/out/mod.txt") == b"out/mod.txt"


def test_list_files_keeps_the_scheme_and_recurses(buckets: Path) -> None:
    storage = Storage(buckets)
    assert storage.list_files("gs://bkt/out/model/") == [
        "gs://bkt/out/model/a.bin",
        "gs://bkt/out/model/sub/b.bin",
    ]
    # A prefix need not be a folder, as on Cloud Storage.
    assert storage.list_files("gs://bkt/out/mod") == [
        "gs://bkt/out/mod.txt",
        "gs://bkt/out/model/a.bin",
        "gs://bkt/out/model/sub/b.bin",
    ]
    root = buckets.resolve() / "bkt" / "out" / "model"
    assert storage.list_files(f"file://{root}") == [
        f"file://{root}/a.bin",
        f"file://{root}/sub/b.bin",
    ]
    assert storage.list_files(str(root)) == [f"{root}/a.bin", f"{root}/sub/b.bin"]
    assert storage.list_files("gs://bkt/none/") == []


def test_makedirs_creates_local_folders(buckets: Path) -> None:
    storage = Storage(buckets)
    storage.makedirs("gs://newbucket/a/b/")
    assert (buckets / "newbucket" / "a" / "b").is_dir()


class InMemoryGcs(MemoryFileSystem):  # type: ignore[misc]
    """fsspec's real in-memory file system, answering for gs:// in place of gcsfs."""

    protocol = ("gs", "gcs")
    store: dict[str, Any] = {}
    pseudo_dirs = [""]

    @classmethod
    def _strip_protocol(cls, path: str) -> str:
        return str(super()._strip_protocol(path.removeprefix("gs://")))


@pytest.fixture
def remote(monkeypatch: pytest.MonkeyPatch) -> InMemoryGcs:
    monkeypatch.setitem(fsspec_registry, "gs", InMemoryGcs)
    fs = InMemoryGcs()
    InMemoryGcs.store.clear()
    fs.pipe({"/bkt/pkgs/t-0.1.whl": b"wheel", "/bkt/out/a": b"A", "/bkt/out/sub/b": b"B"})
    return fs


def test_gcs_mode_goes_through_fsspec(remote: InMemoryGcs, buckets: Path, tmp_path: Path) -> None:
    storage = Storage(buckets, "gcs")
    assert storage.fetch("gs://bkt/pkgs/t-0.1.whl", tmp_path).read_bytes() == b"wheel"
    assert storage.read_bytes("gs://bkt/out/a") == b"A"
    assert storage.list_files("gs://bkt/out/") == ["gs://bkt/out/a", "gs://bkt/out/sub/b"]
    assert storage.list_files("gs://bkt/ou") == ["gs://bkt/out/a", "gs://bkt/out/sub/b"]
    with pytest.raises(InvalidArgument, match="gs://bkt/pkgs/missing.whl was not found"):
        storage.fetch("gs://bkt/pkgs/missing.whl", tmp_path)
    storage.makedirs("gs://bkt/new/")  # nothing to do on Cloud Storage
    assert not (buckets / "bkt" / "new").exists()
