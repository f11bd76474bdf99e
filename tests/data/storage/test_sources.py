"""Manifest, WebDataset and Prepared addressed by ``s3://`` URLs on a local S3 server: the
DataLoader's batches are bitwise those of the same data on local disk (DALI and the torch
reference), also while the server is slow, fails with 500s and drops connections mid-object;
a persistent failure stops the loader naming the object."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines import DataLoader
from dali_pipelines.data.manifest import Manifest
from dali_pipelines.data.prepared import Prepared
from dali_pipelines.data.storage import StorageOptions
from dali_pipelines.data.webdataset import WebDataset
from dali_pipelines.errors import DatasetError, StorageError
from tests.data.storage.conftest import S3
from tests.data.storage.faults import Fault
from tests.prepared_data import make_samples, write_prepared
from tests.sources_data import write_manifest, write_shards

pytestmark = pytest.mark.integration

OPS = [{"op": "random_resized_crop", "size": [12, 12]}, {"op": "horizontal_flip"}]
WDS = {
    "ops": OPS,
    "output": {"dtype": "uint8"},
    "source": {
        "outputs": [
            {"kind": "image", "name": "image", "column": "jpg"},
            {"kind": "label", "column": "cls"},
        ]
    },
}
MANIFEST = {
    "ops": OPS,
    "output": {"dtype": "uint8"},
    "source": {"outputs": [{"kind": "image", "name": "a"}, {"kind": "image", "name": "c"}]},
}
PREPARED = {
    "ops": OPS,
    "output": {"dtype": "uint8"},
    "source": {"outputs": [{"kind": "image", "name": "image"}, {"kind": "label"}]},
}


@pytest.fixture(scope="module")
def data(s3_server: S3, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Any, str]]:
    """Each kind of source on local disk and uploaded: (local path(s), URL)."""
    root = tmp_path_factory.mktemp("remote")
    shards = write_shards(root / "wds", [4, 7, 9])
    manifest = write_manifest(root / "manifest", rows=10)
    prepared = write_prepared(root / "prepared", make_samples(10), per_shard=3)
    wds_url = s3_server.upload(root / "wds", "wds") + "/shard-{000..002}.tar"
    manifest_url = s3_server.upload(root / "manifest", "manifest") + "/manifest.csv"
    prepared_url = s3_server.upload(root / "prepared", "prepared")
    return {
        "webdataset": ([str(p) for p in shards], wds_url),
        "manifest": (manifest, manifest_url),
        "prepared": (prepared, prepared_url),
    }


def _open(kind: str, where: Any, storage: StorageOptions | None = None) -> Any:
    source = {"webdataset": WebDataset, "manifest": Manifest, "prepared": Prepared}[kind]
    return source(where) if storage is None else source(where, storage=storage)


def _epochs(
    dataset: Any, spec: Any, backend: str, epochs: int = 2, **extra: Any
) -> list[list[torch.Tensor]]:
    out = []
    with DataLoader(
        dataset, spec, batch_size=4, shuffle=True, seed=3, backend=backend, num_threads=1, **extra
    ) as loader:
        for epoch in range(epochs):
            loader.set_epoch(epoch)
            out += [list(batch) for batch in loader]
    return out


def _equal(got: list[list[torch.Tensor]], want: list[list[torch.Tensor]]) -> None:
    assert len(got) == len(want)
    for a, b in zip(got, want):
        assert len(a) == len(b) and all(torch.equal(x, y) for x, y in zip(a, b))


SPECS = {"webdataset": WDS, "manifest": MANIFEST, "prepared": PREPARED}


@pytest.mark.parametrize("backend", ["dali", "reference"])
@pytest.mark.parametrize("kind", ["webdataset", "manifest", "prepared"])
def test_remote_batches_equal_local(
    s3: S3, data: dict[str, tuple[Any, str]], kind: str, backend: str
) -> None:
    local, url = data[kind]
    # The reference executor's forked workers read too (the store rebuilt per process): for
    # one kind; the others in-process (each loader with workers costs ~2 s here).
    extra = {"num_workers": 0} if backend == "reference" and kind != "webdataset" else {}
    want = _epochs(_open(kind, local), SPECS[kind], backend, **extra)
    _equal(_epochs(_open(kind, url, s3.options()), SPECS[kind], backend, **extra), want)


@pytest.mark.parametrize("kind", ["webdataset", "manifest", "prepared"])
def test_faults_lose_and_repeat_no_sample(
    s3: S3, data: dict[str, tuple[Any, str]], kind: str
) -> None:
    """Slow answers, 500s and connections cut mid-object on the sample reads: retried, so
    every sample arrives once per epoch with its own bytes."""
    local, url = data[kind]
    want = _epochs(_open(kind, local), SPECS[kind], "dali")
    # Opening reads the indexes and listings cleanly; the faults hit the epochs' reads.
    dataset = _open(kind, url, s3.options(faulty=True, timeout_s=0.4))
    samples = {"webdataset": "/data/wds/shard-", "manifest": "/img/", "prepared": "/shards/"}
    where = samples[kind]  # the samples' objects (not a listing: that one must be clean)
    s3.proxy.inject(
        Fault("error", where, times=3),
        Fault("cut", where, times=3, keep=50),
        Fault("delay", where, times=2, seconds=1.0),
    )
    got = _epochs(dataset, SPECS[kind], "dali")
    assert {kind for _, _, kind in s3.proxy.log} >= {"error", "cut", "delay"}
    _equal(got, want)


def test_labels_count_every_sample_once_under_faults(s3: S3, data: dict[str, Any]) -> None:
    _, url = data["webdataset"]
    dataset = WebDataset(url, storage=s3.options(faulty=True, timeout_s=0.4))
    s3.proxy.inject(Fault("error", times=4), Fault("cut", times=4, keep=10))
    with DataLoader(dataset, WDS, batch_size=3, shuffle=True, seed=1) as loader:
        labels = Counter(int(y) for _, ys in loader for y in ys)
    assert labels == Counter(range(20))
    assert s3.proxy.hits("error") == 4 and s3.proxy.hits("cut") == 4


def test_persistent_failure_names_the_object_within_the_deadline(
    s3: S3, data: dict[str, Any]
) -> None:
    _, url = data["prepared"]
    options = s3.options(faulty=True, retries=50, deadline_s=1.5, backoff_s=0.05)
    dataset = Prepared(url, storage=options)
    s3.proxy.inject(Fault("error", match="shard-000002.tar", times=None))
    start = time.monotonic()
    with (
        DataLoader(dataset, PREPARED, batch_size=4, backend="dali") as loader,
        pytest.raises(StorageError) as caught,
    ):
        list(loader)
    assert time.monotonic() - start < 8  # the deadline (1.5 s), a retry per read at most
    message = str(caught.value)
    assert "s3://data/prepared/shards/shard-000002.tar: bytes " in message
    assert "(StorageOptions retries=50, deadline_s=1.5), got " in message
    assert "OSError: [Errno 121] injected fault" in message  # the server's words, from its 500
    assert caught.value.url == "s3://data/prepared/shards/shard-000002.tar"


def test_a_slow_server_past_the_deadline_fails_in_time(s3: S3, data: dict[str, Any]) -> None:
    _, url = data["webdataset"]
    # A timeout that a loaded machine still meets for the opening requests (not delayed).
    options = s3.options(faulty=True, timeout_s=0.8, deadline_s=1.5, read_ahead_bytes=0)
    dataset = WebDataset(url, storage=options)
    s3.proxy.inject(Fault("delay", match="shard-001.tar", times=None, seconds=1.2))
    start = time.monotonic()
    with (
        DataLoader(dataset, WDS, batch_size=20, backend="reference", num_workers=0) as loader,
        pytest.raises(StorageError, match=r"s3://data/wds/shard-001\.tar: bytes \d+-\d+: "),
    ):
        list(loader)
    assert time.monotonic() - start < 6  # the deadline (1.5 s) and the samples before


def test_missing_objects_are_named_when_opened(s3: S3, tmp_path: Path) -> None:
    manifest = tmp_path / "m.csv"
    manifest.write_text("a\nimg/0.jpg\nimg/missing.jpg\n")
    s3.client.put_object(Bucket="data", Key="missing/m.csv", Body=manifest.read_bytes())
    s3.client.put_object(Bucket="data", Key="missing/img/0.jpg", Body=b"\xff\xd8")
    spec = {"ops": OPS, "source": {"outputs": [{"kind": "image", "name": "a"}]}}
    with pytest.raises(DatasetError, match=r"m\.csv row 2, column 'a': expected an existing obj"):
        DataLoader(Manifest("s3://data/missing/m.csv", storage=s3.options()), spec, batch_size=2)
    with pytest.raises(DatasetError, match=r"expected an existing shard, got s3://data/nope\.tar"):
        WebDataset("s3://data/nope.tar", storage=s3.options())
    with pytest.raises(DatasetError, match=r"s3://data/none/prepared\.json: expected a prepared"):
        Prepared("s3://data/none", storage=s3.options())


def test_cells_may_not_leave_the_folder_or_read_local_files(s3: S3, tmp_path: Path) -> None:
    spec = {"ops": OPS, "source": {"outputs": [{"kind": "image", "name": "a"}]}}
    for cell, match in [
        ("../secret.jpg", r"expected a path inside the manifest's folder"),
        ("/etc/passwd", r"expected a path relative to the manifest's folder"),
        ("file:///etc/passwd", r"expected a path relative to .* or a remote object URL"),
    ]:
        s3.client.put_object(Bucket="data", Key="escape/m.csv", Body=f"a\n{cell}\n".encode())
        manifest = Manifest("s3://data/escape/m.csv", storage=s3.options())
        with pytest.raises(DatasetError, match=match):
            DataLoader(manifest, spec, batch_size=1)
