"""``ObjectStore`` against the local S3 server: exact bytes through faults, the cache's limit
and its staleness check, secrets kept out of messages and logs, per-process filesystems."""

from __future__ import annotations

import logging
import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from dali_pipelines.data.storage import DiskCache, ObjectStore, ObjectUrl
from dali_pipelines.data.storage.readahead import Read, ReadAhead
from dali_pipelines.errors import ObjectNotFoundError, StorageError
from tests.data.storage.conftest import ACCESS_KEY, S3, SECRET_KEY
from tests.data.storage.faults import Fault

BLOB = bytes(range(256)) * 64  # 16 KiB


@pytest.fixture(scope="module")
def blob(s3_server: S3) -> ObjectUrl:
    s3_server.client.put_object(Bucket="data", Key="store/blob.bin", Body=BLOB)
    return ObjectUrl("s3://data/store/blob.bin")


def test_info_listing_and_ranges(s3: S3, blob: ObjectUrl) -> None:
    store = ObjectStore(s3.options())
    info = store.info(blob)
    assert info.size == len(BLOB) and info.etag
    assert store.read(blob, 1000, 1100, info=info) == BLOB[1000:1100]
    assert store.read(blob) == BLOB
    assert blob.url in store.listing(ObjectUrl("s3://data/store/"))
    assert store.listing(ObjectUrl("s3://data/nothing-here/")) == {}
    with pytest.raises(ObjectNotFoundError, match=r"s3://data/store/nope: size: expected an exis"):
        store.info(ObjectUrl("s3://data/store/nope"))


def test_every_fault_is_retried_to_the_exact_bytes(s3: S3, blob: ObjectUrl) -> None:
    store = ObjectStore(s3.options(faulty=True, timeout_s=0.3))
    info = store.info(blob)
    s3.proxy.inject(
        Fault("error", "blob.bin"),
        Fault("cut", "blob.bin", keep=5000),
        Fault("delay", "blob.bin", seconds=0.8),
        Fault("error", "blob.bin", status=503),
    )
    assert store.read(blob, 0, len(BLOB), info=info) == BLOB
    assert [kind for method, _, kind in s3.proxy.log if method == "GET"] == [
        "error",
        "cut",
        "delay",
        "error",
        "ok",
    ]


def test_secrets_stay_out_of_messages_and_logs(
    s3: S3, blob: ObjectUrl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, libraries' included
    store = ObjectStore(s3.options(faulty=True, retries=2, fs_options={"anon": False}))
    s3.proxy.inject(Fault("error", "blob.bin", times=None))
    with pytest.raises(StorageError) as caught:
        store.read(blob, 0, 10)
    assert "blob.bin: bytes 0-9: expected the object within 3 attempts" in str(caught.value)
    shown = [str(caught.value), repr(caught.value), repr(store.options), caplog.text]
    assert "retrying in" in caplog.text and "fs_options" not in repr(store.options)
    for text in shown:
        assert SECRET_KEY not in text
    signed = ObjectUrl(f"{s3.proxy.url}/data/store/blob.bin?X-Amz-Signature=deadbeef{ACCESS_KEY}")
    with pytest.raises(StorageError) as caught:
        ObjectStore(s3.options(retries=0)).read(signed, 0, 10)
    assert "deadbeef" not in str(caught.value) and "X-Amz-Signature=<redacted>" in str(caught.value)
    assert "deadbeef" not in caplog.text


def test_cache_serves_hits_and_never_a_changed_object(s3: S3, tmp_path: Path) -> None:
    key = "store/changing.bin"
    s3.client.put_object(Bucket="data", Key=key, Body=b"first version")
    url = ObjectUrl(f"s3://data/{key}")
    store = ObjectStore(s3.options(faulty=True, cache_dir=tmp_path))
    assert store.read(url) == b"first version"
    gets = s3.proxy.log.count(("GET", f"/data/{key}", "ok"))
    assert store.read(url) == b"first version"  # a HEAD for the version, no GET
    assert s3.proxy.log.count(("GET", f"/data/{key}", "ok")) == gets
    s3.client.put_object(Bucket="data", Key=key, Body=b"second version!")
    assert store.read(url) == b"second version!"  # another ETag: another entry
    s3.client.put_object(Bucket="data", Key=key, Body=b"third  version!")  # the same size
    assert store.read(url) == b"third  version!"


def test_cache_stays_under_its_limit_least_recently_used_out(tmp_path: Path) -> None:
    cache = DiskCache(tmp_path, max_bytes=64 * 1024)
    for k in range(40):
        cache.put(f"{k:064x}", bytes([k]) * 4096)
        assert cache.scan()[1] <= 64 * 1024
        if k >= 3:
            assert cache.get(f"{0:064x}", 4096) == bytes(4096)  # used all along: kept
    assert cache.get(f"{1:064x}", 4096) is None  # old and unused: evicted
    assert cache.get(f"{39:064x}", 4096) == bytes([39]) * 4096
    assert cache.get(f"{39:064x}", 10) is None  # a length that does not match is no hit
    cache.put("f" * 64, bytes(9000))  # over an eighth of the limit: not kept
    assert cache.get("f" * 64, 9000) is None
    other = DiskCache(tmp_path, max_bytes=64 * 1024)  # another process on the folder
    assert other.get(f"{38:064x}", 4096) == bytes([38]) * 4096


def test_filesystems_are_per_process_and_pickles_carry_options_only(
    s3: S3, blob: ObjectUrl
) -> None:
    store = ObjectStore(s3.options())
    assert store.read(blob, 0, 4) == BLOB[:4]
    parent = store.filesystem("s3")
    store._pid = -1  # as a forked child sees it
    assert store.filesystem("s3") is not parent
    again = pickle.loads(pickle.dumps(store))
    assert again.options == store.options and again.read(blob, 4, 8) == BLOB[4:8]
    pid = os.fork()
    if pid == 0:  # a forked child reads with its own loop and connections
        os._exit(0 if store.read(blob, 8, 12) == BLOB[8:12] else 1)
    assert os.waitpid(pid, 0)[1] == 0


def test_read_ahead_serves_planned_reads_and_lets_others_through(s3: S3, blob: ObjectUrl) -> None:
    store = ObjectStore(s3.options(faulty=True, read_ahead_bytes=300, read_ahead_requests=2))
    info = store.info(blob)
    reads = {i: Read(blob, i * 100, i * 100 + 100, info) for i in range(10)}
    ahead = ReadAhead(store, lambda i: [reads[i]])

    ahead.schedule([np.array([0, 1, 2]), np.array([3, 4, 5])])
    assert ahead.take(reads[0]) == BLOB[:100]
    assert ahead.take(reads[2]) == BLOB[200:300]  # 1 skipped: dropped
    assert ahead.take(reads[1]) is None  # not planned any more: the caller reads it
    assert ahead.take(reads[9]) is None
    for i in (3, 4, 5):
        assert ahead.take(reads[i]) == BLOB[i * 100 : i * 100 + 100]
    assert ahead._bytes == 0 and not ahead._window
    ahead.close()


def test_a_missing_backend_names_the_package(s3: S3) -> None:
    try:
        import gcsfs  # noqa: F401

        pytest.skip("gcsfs is installed")
    except ImportError:
        pass
    with pytest.raises(StorageError, match=r"gcs:// URLs: expected the gcsfs package installed"):
        ObjectStore().info(ObjectUrl("gs://bucket/x.tar"))


def test_read_ahead_continues_an_announced_epoch_without_reading_twice(
    s3: S3, blob: ObjectUrl
) -> None:
    store = ObjectStore(s3.options(faulty=True, read_ahead_bytes=10_000))
    info = store.info(blob)
    reads = {i: Read(blob, i * 100, i * 100 + 100, info) for i in range(9)}
    ahead = ReadAhead(store, lambda i: [reads[i]])
    epoch, following = [np.array([0, 1, 2])], [np.array([3, 4, 5])]
    ahead.schedule([*epoch, *following])  # the runner: this epoch, and the next one announced
    for i in (0, 1, 2, 3):  # the executor flows into the next epoch before it is announced
        assert ahead.take(reads[i]) == BLOB[i * 100 : i * 100 + 100]
    ahead.schedule([*following, np.array([6, 7, 8])])  # the next epoch, as the current one
    for i in (4, 5, 6, 7, 8):
        assert ahead.take(reads[i]) == BLOB[i * 100 : i * 100 + 100]
    gets = [path for method, path, _ in s3.proxy.log if method == "GET"]
    assert len(gets) == 9  # every range once
    ahead.schedule([np.array([2, 1])])  # another order: a new plan
    assert ahead.take(reads[2]) == BLOB[200:300] and ahead.take(reads[1]) == BLOB[100:200]
    ahead.close()
