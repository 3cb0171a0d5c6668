"""One contract for every object store: the local folder and S3 over HTTP on loopback (moto).

Each test runs against both; the S3 store is built by ``open_object_store`` from the standard AWS
environment the ``s3_endpoint`` fixture sets up, exactly as in production.
"""

from __future__ import annotations

import os
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber

from phonesys.rules.errors import Conflict, NotFound, Refused, TransientError
from phonesys.settings import Settings
from phonesys.storage.objects import LocalObjectStore, ObjectStore, localfs, open_object_store
from phonesys.storage.objects.s3 import S3ObjectStore


@pytest.fixture(params=["local", "s3"])
def store(request, tmp_path) -> ObjectStore:
    """An empty store of each kind."""
    if request.param == "local":
        return open_object_store(str(tmp_path / "objects"))
    return open_object_store(request.getfixturevalue("s3_storage_url"))


def s3_calls(store: ObjectStore) -> list[str]:
    """Names of the S3 operations ``store`` sends from now on (empty list for the local store)."""
    calls: list[str] = []
    if isinstance(store, S3ObjectStore):
        store.client.meta.events.register("before-call.s3", lambda model, **_: calls.append(model.name))
    return calls


def codes(excinfo) -> list[str]:
    return [problem.code for problem in excinfo.value.problems]


# -- reading and writing ------------------------------------------------------------------------

def test_write_read_and_stat(store):
    before = datetime.now(UTC) - timedelta(minutes=5)
    store.write_bytes("incoming/org-1/req 1/Users (1).csv", b"a,b\r\n1,2\r\n", content_type="text/csv")
    assert store.read_bytes("incoming/org-1/req 1/Users (1).csv") == b"a,b\r\n1,2\r\n"
    info = store.stat("incoming/org-1/req 1/Users (1).csv")
    assert (info.key, info.size) == ("incoming/org-1/req 1/Users (1).csv", 10)
    assert info.etag and before < info.modified < datetime.now(UTC) + timedelta(minutes=5)
    assert info.modified.utcoffset() == timedelta(0)


def test_empty_object(store):
    store.write_bytes("empty.csv", b"")
    assert store.read_bytes("empty.csv", max_bytes=0) == b""
    assert store.stat("empty.csv").size == 0


def test_overwrite_replaces_the_whole_object(store):
    store.write_bytes("report.csv", b"x" * 1000)
    first = store.stat("report.csv")
    store.write_bytes("report.csv", b"short")
    assert store.read_bytes("report.csv") == b"short"
    second = store.stat("report.csv")
    assert second.size == 5 and second.etag != first.etag
    assert [info.key for info in store.list()] == ["report.csv"]  # no temporary files left behind


def test_overwrite_is_atomic_for_concurrent_readers(store):
    """Readers racing a writer see one version or the other, never a mix or a truncated file."""
    versions = [bytes([65 + i]) * 200_000 for i in range(2)]
    store.write_bytes("live.csv", versions[0])
    stop = threading.Event()
    seen: list[bytes] = []

    def read_until_stopped() -> None:
        while not stop.is_set():
            seen.append(store.read_bytes("live.csv"))

    readers = [threading.Thread(target=read_until_stopped) for _ in range(3)]
    for reader in readers:
        reader.start()
    for i in range(20):
        store.write_bytes("live.csv", versions[i % 2])
    stop.set()
    for reader in readers:
        reader.join()
    assert seen and all(data in versions for data in seen)


def test_read_bytes_refuses_an_object_over_max_bytes_without_reading_it(store, monkeypatch):
    store.write_bytes("big.csv", b"x" * 2048)
    assert store.read_bytes("big.csv", max_bytes=2048) == b"x" * 2048

    def body_must_not_be_read(*_args):
        raise AssertionError("the body was read")

    monkeypatch.setattr(store, "_read", body_must_not_be_read)
    calls = s3_calls(store)
    with pytest.raises(Refused) as refused:
        store.read_bytes("big.csv", max_bytes=2047)
    assert codes(refused) == ["object-too-large"]
    assert "2,048 bytes" in str(refused.value) and "2,047 bytes" in str(refused.value)
    assert "GetObject" not in calls


def test_reading_rechecks_the_size_of_the_version_it_opened(store):
    """If the object grew between stat and read, the reader still refuses it."""
    store.write_bytes("grown.csv", b"x" * 100)
    with pytest.raises(Refused) as refused:
        store._read("grown.csv", 99)
    assert codes(refused) == ["object-too-large"]


def test_download_writes_a_local_copy_atomically(store, tmp_path):
    store.write_bytes("exports/org/file.csv", b"payload" * 1000)
    target = tmp_path / "out" / "deep" / "file.csv"
    assert store.download("exports/org/file.csv", target) == target
    assert target.read_bytes() == b"payload" * 1000
    store.write_bytes("exports/org/file.csv", b"new")
    store.download("exports/org/file.csv", str(target))
    assert target.read_bytes() == b"new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["file.csv"]


def test_upload_from_a_local_file(store, tmp_path):
    source = tmp_path / "users.csv"
    source.write_bytes(b"Name\r\nAda\r\n")
    store.upload("incoming/users.csv", source)
    store.upload("incoming/data.parquet", str(source), content_type="application/vnd.apache.parquet")
    assert store.read_bytes("incoming/users.csv") == b"Name\r\nAda\r\n"
    assert store.stat("incoming/data.parquet").size == source.stat().st_size
    if isinstance(store, S3ObjectStore):
        head = store.client.head_object(Bucket=store.bucket, Key="phonesys/incoming/data.parquet")
        assert head["ContentType"] == "application/vnd.apache.parquet"
        head = store.client.head_object(Bucket=store.bucket, Key="phonesys/incoming/users.csv")
        assert head["ContentType"] == "text/csv"


# -- copy, move, delete -------------------------------------------------------------------------

def test_copy_keeps_the_source_and_overwrites_the_target(store):
    store.write_bytes("a/src.csv", b"source")
    store.write_bytes("b/dst.csv", b"old target")
    store.copy("a/src.csv", "b/dst.csv")
    store.copy("a/src.csv", "c/new.csv")
    assert store.read_bytes("a/src.csv") == store.read_bytes("b/dst.csv") == b"source"
    assert store.read_bytes("c/new.csv") == b"source"


def test_move_removes_the_source(store):
    store.write_bytes("incoming/r1/u.csv", b"users")
    store.write_bytes("processed/r1/u.csv", b"older run")
    store.move("incoming/r1/u.csv", "processed/r1/u.csv")
    assert store.read_bytes("processed/r1/u.csv") == b"users"
    assert [info.key for info in store.list()] == ["processed/r1/u.csv"]
    store.move("processed/r1/u.csv", "processed/r1/u.csv")
    assert store.read_bytes("processed/r1/u.csv") == b"users"


def test_delete_is_idempotent(store):
    store.write_bytes("x/y.csv", b"1")
    store.delete("x/y.csv")
    store.delete("x/y.csv")
    store.delete("never/was.csv")
    assert list(store.list()) == []
    with pytest.raises(NotFound):
        store.stat("x/y.csv")


def test_missing_objects_are_not_found(store, tmp_path):
    store.write_bytes("present.csv", b"1")
    target = tmp_path / "downloaded.csv"
    attempts = [lambda: store.stat("missing.csv"), lambda: store.read_bytes("missing.csv"),
                lambda: store.read_bytes("missing.csv", max_bytes=10),
                lambda: store.download("missing.csv", target), lambda: store.copy("missing.csv", "x.csv"),
                lambda: store.move("missing.csv", "x.csv"), lambda: store.move("missing.csv", "missing.csv"),
                lambda: store.stat("present.csv/inside.csv"), lambda: store.stat("no/such/folder.csv")]
    for attempt in attempts:
        with pytest.raises(NotFound) as missing:
            attempt()
        assert codes(missing) == ["object-not-found"]
        assert "missing.csv" in str(missing.value) or "folder.csv" in str(missing.value) \
            or "inside.csv" in str(missing.value)
    assert not target.exists()
    assert [info.key for info in store.list()] == ["present.csv"]


# -- listing ------------------------------------------------------------------------------------

def test_list_by_prefix_in_key_order(store):
    keys = ["a/b/2.csv", "a/b/1.csv", "a/b-c.csv", "a/bc/x.csv", "a.csv", "ab/z.csv", "z.csv", "a/b.csv"]
    for key in keys:
        store.write_bytes(key, key.encode())

    def listed(prefix: str = "") -> list[str]:
        return [info.key for info in store.list(prefix)]

    assert listed() == sorted(keys)
    assert listed("a/") == ["a/b-c.csv", "a/b.csv", "a/b/1.csv", "a/b/2.csv", "a/bc/x.csv"]
    assert listed("a/b/") == ["a/b/1.csv", "a/b/2.csv"]
    assert listed("a/b") == ["a/b-c.csv", "a/b.csv", "a/b/1.csv", "a/b/2.csv", "a/bc/x.csv"]
    assert listed("a") == ["a.csv", "a/b-c.csv", "a/b.csv", "a/b/1.csv", "a/b/2.csv", "a/bc/x.csv", "ab/z.csv"]
    assert listed("a/b/1.csv") == ["a/b/1.csv"]
    assert listed("nothing/") == [] and listed("z.csv/") == [] and listed("q") == []
    sizes = {info.key: info.size for info in store.list("a/b/")}
    assert sizes == {"a/b/1.csv": 9, "a/b/2.csv": 9}


def test_list_pages_through_more_than_a_thousand_keys(store):
    keys = [f"many/{i // 100:02d}/row-{i:05d}.csv" for i in range(1100)]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda key: store.write_bytes(key, b"1"), keys))
    store.write_bytes("other/one.csv", b"1")
    calls = s3_calls(store)
    listed = [info.key for info in store.list("many/")]
    assert listed == sorted(keys)
    if isinstance(store, S3ObjectStore):
        assert calls.count("ListObjectsV2") == 2


def test_list_skips_stored_names_that_are_not_valid_keys(store, caplog):
    store.write_bytes("ok/good.csv", b"1")
    if isinstance(store, S3ObjectStore):
        for bad in ("phonesys/ok/bad\\name.csv", "phonesys/ok/folder-marker/"):
            store.client.put_object(Bucket=store.bucket, Key=bad, Body=b"")
    else:
        (store.root / "ok" / "bad\\name.csv").write_bytes(b"")
        (store.root / "ok" / (localfs.TEMP_PREFIX + "123")).write_bytes(b"half-written")
    assert [info.key for info in store.list("ok/")] == ["ok/good.csv"]
    assert "not a valid object key" in caplog.text


def test_s3_store_sees_only_its_own_prefix(s3_bucket):
    store = open_object_store(f"s3://{s3_bucket}/tenant")
    neighbour = open_object_store(f"s3://{s3_bucket}/tenant-b")
    store.write_bytes("x.csv", b"mine")
    neighbour.write_bytes("x.csv", b"theirs")
    assert [info.key for info in store.list()] == ["x.csv"]
    assert store.read_bytes("x.csv") == b"mine"
    whole = open_object_store(f"s3://{s3_bucket}")
    assert [info.key for info in whole.list()] == ["tenant-b/x.csv", "tenant/x.csv"]


# -- where things are ---------------------------------------------------------------------------

def test_location_names_the_object_for_people(store):
    where = store.location("exports/org/f.csv")
    if isinstance(store, S3ObjectStore):
        assert where == f"s3://{store.bucket}/phonesys/exports/org/f.csv"
    else:
        assert where == str(store.root / "exports" / "org" / "f.csv")


def test_factory_picks_the_store_from_settings_or_url(tmp_path, monkeypatch, s3_endpoint):
    monkeypatch.setenv("PHONESYS_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PHONESYS_STORAGE_URL", raising=False)
    default = open_object_store(Settings())
    assert isinstance(default, LocalObjectStore) and default.root == (tmp_path / "home" / "objects").resolve()
    monkeypatch.setenv("PHONESYS_STORAGE_URL", "s3://some-bucket/deep/prefix/")
    s3 = open_object_store(Settings())
    assert isinstance(s3, S3ObjectStore) and (s3.bucket, s3.prefix) == ("some-bucket", "deep/prefix")
    folder = open_object_store((tmp_path / "my folder").as_uri())
    assert isinstance(folder, LocalObjectStore) and folder.root == (tmp_path / "my folder").resolve()
    for bad in ("http://example.com/x", "s3://Bad_Bucket/x", "s3://b", "s3://bucket/x?region=eu", "",
                "file://otherhost/x", "s3://bucket/../x"):
        with pytest.raises(Refused) as refused:
            open_object_store(bad)
        assert codes(refused)[0] in ("storage-url-invalid", "object-key-dot-segment"), bad


# -- failures -----------------------------------------------------------------------------------

def test_s3_unreachable_is_transient():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x").client(
        "s3", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=2))
    store = S3ObjectStore("bucket", "p", client=client)
    for attempt in (lambda: store.stat("a.csv"), lambda: store.write_bytes("a.csv", b"1"),
                    lambda: list(store.list())):
        with pytest.raises(TransientError):
            attempt()


@pytest.mark.parametrize(("status", "code", "expected"), [
    (503, "SlowDown", TransientError), (500, "InternalError", TransientError),
    (400, "RequestTimeout", TransientError), (429, "TooManyRequests", TransientError),
    (404, "NoSuchKey", NotFound), (404, "NoSuchBucket", Refused), (403, "AccessDenied", Refused),
])
def test_s3_error_responses_are_mapped(status, code, expected):
    client = boto3.session.Session(aws_access_key_id="x", aws_secret_access_key="x").client(
        "s3", region_name="us-east-1")
    store = S3ObjectStore("bucket", client=client)
    with Stubber(client) as stub:
        stub.add_client_error("get_object", service_error_code=code, http_status_code=status)
        with pytest.raises(expected) as raised:
            store.read_bytes("a.csv")
    assert type(raised.value) is expected
    if expected is Refused:
        assert codes(raised)[0] in ("storage-bucket-not-found", "storage-access-denied")


def test_s3_missing_bucket_and_missing_credentials_are_refused(s3_endpoint, monkeypatch):
    store = open_object_store("s3://no-such-bucket-here/p")
    for attempt in (lambda: store.write_bytes("a.csv", b"1"), lambda: list(store.list())):
        with pytest.raises(Refused) as refused:
            attempt()
        assert codes(refused) == ["storage-bucket-not-found"]
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    with pytest.raises(Refused) as refused:
        open_object_store("s3://no-such-bucket-here/p").stat("a.csv")
    assert codes(refused) == ["storage-credentials-missing"]


def test_local_failed_write_keeps_the_old_object(tmp_path, monkeypatch):
    store = LocalObjectStore(tmp_path / "objects")
    store.write_bytes("r.csv", b"old")

    def disk_failure(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(localfs.os, "fsync", disk_failure)
    with pytest.raises(OSError):
        store.write_bytes("r.csv", b"new")
    monkeypatch.undo()
    assert store.read_bytes("r.csv") == b"old"
    assert os.listdir(store.root) == ["r.csv"]


def test_local_file_and_folder_with_one_name_clash(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    store.write_bytes("a", b"file")
    with pytest.raises(Conflict) as clash:
        store.write_bytes("a/b.csv", b"x")
    assert codes(clash) == ["object-key-clash"]
    store.write_bytes("d/b.csv", b"x")
    with pytest.raises(Conflict):
        store.write_bytes("d", b"x")


def test_local_listing_survives_a_deep_tree_and_closes_what_it_opens(tmp_path):
    store = LocalObjectStore(tmp_path / "objects")
    deep_key = "d/" * 509 + "f.csv"
    store.write_bytes(deep_key, b"1")
    fd = os.open(store.root, os.O_RDONLY)
    for _ in range(600):  # deeper than any valid key: never descended to the bottom
        os.mkdir("e", dir_fd=fd)
        child = os.open("e", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = child
    os.close(fd)
    open_before = len(os.listdir("/proc/self/fd"))
    assert [info.key for info in store.list()] == [deep_key]
    listing = store.list("d/")
    next(listing)
    del listing  # abandoned half-way: its folders must still be closed
    assert len(os.listdir("/proc/self/fd")) == open_before
