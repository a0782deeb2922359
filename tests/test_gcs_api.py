"""vertexd's Cloud Storage JSON API, through the real clients (google-cloud-storage, gcsfs),
unmodified, with STORAGE_EMULATOR_HOST as their one setting; and the bucket folder as truth."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import gcsfs
import httpx
import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import storage

from conftest import Server

pytestmark = pytest.mark.slow
BUCKET = "gcs-api-bucket"


@pytest.fixture(scope="module")
def gcs(server: Server) -> Iterator[Server]:
    previous = os.environ.get("STORAGE_EMULATOR_HOST")
    os.environ["STORAGE_EMULATOR_HOST"] = server.url
    yield server
    if previous is None:
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
    else:
        os.environ["STORAGE_EMULATOR_HOST"] = previous


@pytest.fixture(scope="module")
def bucket(gcs: Server) -> storage.Bucket:
    return storage.Client().create_bucket(BUCKET)


def folder(server: Server) -> Path:
    return server.home / "buckets" / BUCKET


@pytest.fixture
def outside(gcs: Server, bucket: storage.Bucket) -> Path:
    """A symlink in the bucket folder to /etc: a way out that names must not take."""
    link = folder(gcs) / "outside"
    if not link.is_symlink():
        link.symlink_to("/etc")
    return link


def test_buckets_are_folders(gcs: Server, bucket: storage.Bucket) -> None:
    client = storage.Client()
    assert BUCKET in [b.name for b in client.list_buckets()]
    assert client.get_bucket(BUCKET).name == BUCKET
    assert folder(gcs).is_dir()
    with pytest.raises(api_exceptions.Conflict):
        client.create_bucket(BUCKET)
    with pytest.raises(api_exceptions.NotFound):
        client.get_bucket("no-such-bucket")
    with pytest.raises(api_exceptions.BadRequest, match="bucket name"):
        client.create_bucket("Not_A_Valid_Bucket")


def test_small_upload_is_a_plain_file(gcs: Server, bucket: storage.Bucket) -> None:
    blob = bucket.blob("small/hello.txt")
    blob.upload_from_string(b"hello world", content_type="text/plain")
    assert (folder(gcs) / "small" / "hello.txt").read_bytes() == b"hello world"
    again = bucket.get_blob("small/hello.txt")
    assert again is not None
    assert (again.size, again.content_type, again.generation) == (11, "text/plain", blob.generation)
    assert again.md5_hash == blob.md5_hash and again.crc32c == blob.crc32c
    assert again.download_as_bytes() == b"hello world"


def test_large_chunked_resumable_upload_and_ranged_download(
    gcs: Server, bucket: storage.Bucket, tmp_path: Path
) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)
    source = tmp_path / "big.bin"
    source.write_bytes(data)
    blob = bucket.blob("large/big.bin", chunk_size=1024 * 1024)  # four resumable chunks
    blob.upload_from_filename(str(source))
    assert (folder(gcs) / "large" / "big.bin").read_bytes() == data
    assert bucket.blob("large/big.bin").download_as_bytes() == data
    assert bucket.blob("large/big.bin").download_as_bytes(start=1000, end=1999) == data[1000:2000]
    target = tmp_path / "back.bin"
    bucket.blob("large/big.bin").download_to_filename(str(target))
    assert target.read_bytes() == data


def test_list_with_delimiter_and_pages(gcs: Server, bucket: storage.Bucket) -> None:
    for name in ["tree/a.txt", "tree/b.txt", "tree/sub/c.txt", "tree/sub/deeper/d.txt"]:
        bucket.blob(name).upload_from_string(name.encode())
    top = storage.Client().list_blobs(BUCKET, prefix="tree/", delimiter="/")
    assert [b.name for b in top] == ["tree/a.txt", "tree/b.txt"]
    assert top.prefixes == {"tree/sub/"}
    everything = storage.Client().list_blobs(BUCKET, prefix="tree/", max_results=10, page_size=1)
    assert [b.name for b in everything] == [
        "tree/a.txt", "tree/b.txt", "tree/sub/c.txt", "tree/sub/deeper/d.txt",
    ]  # fmt: skip


def test_delete_and_missing_objects(gcs: Server, bucket: storage.Bucket) -> None:
    bucket.blob("gone/x.txt").upload_from_string(b"x")
    bucket.blob("gone/x.txt").delete()
    assert not (folder(gcs) / "gone").exists()  # no objects left, no folder
    with pytest.raises(api_exceptions.NotFound):
        bucket.blob("gone/x.txt").download_as_bytes()
    with pytest.raises(api_exceptions.NotFound):
        bucket.blob("gone/x.txt").delete()


def test_preconditions_fail_with_412(gcs: Server, bucket: storage.Bucket) -> None:
    blob = bucket.blob("cond/once.txt")
    blob.upload_from_string(b"first", if_generation_match=0)
    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("cond/once.txt").upload_from_string(b"second", if_generation_match=0)
    with pytest.raises(api_exceptions.PreconditionFailed):
        bucket.blob("cond/once.txt").delete(if_generation_match=blob.generation + 1)
    assert (folder(gcs) / "cond" / "once.txt").read_bytes() == b"first"
    bucket.blob("cond/once.txt").upload_from_string(b"third", if_generation_match=blob.generation)
    assert bucket.blob("cond/once.txt").download_as_bytes() == b"third"


def test_copy_rewrite_and_compose(gcs: Server, bucket: storage.Bucket) -> None:
    one, two = bucket.blob("parts/one"), bucket.blob("parts/two")
    one.upload_from_string(b"one,")
    two.upload_from_string(b"two")
    bucket.copy_blob(one, bucket, "parts/copied")
    bucket.blob("parts/rewritten").rewrite(two)
    whole = bucket.blob("parts/whole")
    whole.compose([one, two])
    assert (folder(gcs) / "parts" / "copied").read_bytes() == b"one,"
    assert (folder(gcs) / "parts" / "rewritten").read_bytes() == b"two"
    assert bucket.blob("parts/whole").download_as_bytes() == b"one,two"


def test_files_written_into_the_folder_are_objects(gcs: Server, bucket: storage.Bucket) -> None:
    by_hand = folder(gcs) / "by-hand" / "notes.txt"
    by_hand.parent.mkdir(parents=True)
    by_hand.write_text("written without the API\n")
    blob = bucket.get_blob("by-hand/notes.txt")
    assert blob is not None and blob.size == by_hand.stat().st_size
    assert blob.download_as_text() == "written without the API\n"
    by_hand.write_text("changed behind its back, and longer\n")
    changed = bucket.get_blob("by-hand/notes.txt")
    assert changed is not None and changed.generation != blob.generation
    assert changed.download_as_text() == "changed behind its back, and longer\n"


def test_gcsfs_reads_writes_lists_and_removes(gcs: Server, bucket: storage.Bucket) -> None:
    fs = gcsfs.GCSFileSystem(skip_instance_cache=True)
    fs.pipe(f"{BUCKET}/fs/small.txt", b"small")
    data = os.urandom(6 * 1024 * 1024 + 3)
    with fs.open(f"{BUCKET}/fs/big.bin", "wb", block_size=5 * 1024 * 1024) as handle:
        handle.write(data)  # a resumable upload in two chunks
    assert (folder(gcs) / "fs" / "big.bin").read_bytes() == data
    assert fs.cat_file(f"{BUCKET}/fs/big.bin", start=10, end=20) == data[10:20]
    assert sorted(fs.ls(f"{BUCKET}/fs")) == [f"{BUCKET}/fs/big.bin", f"{BUCKET}/fs/small.txt"]
    assert fs.info(f"{BUCKET}/fs")["type"] == "directory"
    fs.cp(f"{BUCKET}/fs/small.txt", f"{BUCKET}/fs/copy.txt")
    assert fs.cat(f"{BUCKET}/fs/copy.txt") == b"small"
    with pytest.raises(FileExistsError):
        fs.pipe(f"{BUCKET}/fs/small.txt", b"again", mode="create")
    fs.rm(f"{BUCKET}/fs", recursive=True)
    assert not (folder(gcs) / "fs").exists()


@pytest.mark.parametrize(
    "path",
    [
        "/storage/v1/b/{b}/o/..%2F..%2F..%2Fetc%2Fpasswd",
        "/storage/v1/b/{b}/o/%2Fetc%2Fpasswd",
        "/storage/v1/b/{b}/o/a%00b",
        "/storage/v1/b/{b}/o/outside%2Fpasswd",
        "/download/storage/v1/b/{b}/o/outside%2Fpasswd?alt=media",
        "/storage/v1/b/%2E%2E/o/etc%2Fpasswd",
    ],
)
def test_names_never_reach_outside_the_bucket(
    gcs: Server, bucket: storage.Bucket, path: str
) -> None:
    link = folder(gcs) / "outside"
    if not link.is_symlink():
        link.symlink_to("/etc")
    response = httpx.get(gcs.url + path.format(b=BUCKET))
    assert response.status_code == 400
    assert response.json()["error"]["code"] == 400
    assert "root:" not in response.text


def test_uploads_never_reach_outside_the_bucket(
    gcs: Server, bucket: storage.Bucket, outside: Path
) -> None:
    for name in ["../escaped.txt", "/tmp/escaped.txt", "outside/escaped.txt"]:
        with pytest.raises(api_exceptions.BadRequest):
            bucket.blob(name).upload_from_string(b"no")
    assert not (gcs.home / "buckets" / "escaped.txt").exists()
    assert not Path("/etc/escaped.txt").exists()


def test_real_cloud_storage_mode_serves_no_storage_api(tmp_path: Path) -> None:
    real = Server(tmp_path / "home", env={"VERTEXD_GCS": "gcs"})
    real.start()
    try:
        assert real.client.get("/storage/v1/b").status_code == 404
    finally:
        real.stop()


def test_metadata_is_kept_beside_the_file(gcs: Server, bucket: storage.Bucket) -> None:
    blob = bucket.blob("meta/labelled.json")
    blob.upload_from_string(b"{}", content_type="application/json")
    blob.metadata = {"owner": "tests"}
    blob.patch()
    again = bucket.get_blob("meta/labelled.json")
    assert again is not None
    assert again.metadata == {"owner": "tests"} and again.metageneration == 2
    assert again.content_type == "application/json" and again.generation == blob.generation
    again.metadata = {"owner": None, "stage": "two"}
    again.patch()
    assert bucket.get_blob("meta/labelled.json").metadata == {"stage": "two"}  # type: ignore[union-attr]
    listed = storage.Client().list_blobs(BUCKET, prefix="meta/")
    assert [(b.name, b.content_type) for b in listed] == [
        ("meta/labelled.json", "application/json")
    ]
    assert sorted(p.name for p in (folder(gcs) / "meta").iterdir()) == ["labelled.json"]


def test_a_bucket_with_objects_is_not_deleted(gcs: Server, bucket: storage.Bucket) -> None:
    other = storage.Client().create_bucket("short-lived-bucket")
    other.blob("keep.txt").upload_from_string(b"keep")
    with pytest.raises(api_exceptions.Conflict):
        other.delete()
    other.blob("keep.txt").delete()
    other.delete()
    assert not (gcs.home / "buckets" / "short-lived-bucket").exists()
