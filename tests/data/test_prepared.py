"""Prepared: the reader of ``dali-pipelines prepare``'s output, on folders built by hand from
the format's models (the round trips through the real writer are in test_prepared_roundtrip)."""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dali_pipelines import load_spec
from dali_pipelines.data.prepared import Prepared, is_prepared
from dali_pipelines.data.prepared_format import MANIFEST_NAME, SHARDS_DIR
from dali_pipelines.errors import DatasetError, FileRefusedError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.layout import Layout
from tests.prepared_data import (
    CLASSES,
    edit_json,
    make_samples,
    member_extent,
    overwrite_member,
    write_prepared,
)

SOURCE: dict[str, Any] = {
    "outputs": [
        {"kind": "image", "name": "image"},
        {"kind": "features", "columns": ["idx", "score"]},
        {"kind": "label"},
    ]
}
BOXES: dict[str, Any] = {"outputs": [{"kind": "image", "name": "image"}, {"kind": "boxes"}]}


def layout(source: dict[str, Any] | None = SOURCE) -> Layout:
    spec: dict[str, Any] = {"ops": [{"op": "resize", "size": [16, 16]}]}
    if source is not None:
        spec["source"] = source
    return make_plan(load_spec(spec)).layout


@pytest.fixture(scope="module")
def samples() -> list[Any]:
    return make_samples(7)


@pytest.fixture
def folder(tmp_path: Path, samples: list[Any]) -> Path:
    return write_prepared(tmp_path / "out", samples)


def test_reads_every_column_from_every_shard(folder: Path, samples: list[Any]) -> None:
    ds = Prepared(folder)
    assert len(ds) == 7 and ds.shard_sizes == [3, 3, 1]
    assert ds.classes == CLASSES and ds.manifest.complete
    bound = ds.bind(layout())
    assert bound.num_classes == 3
    for i, sample in enumerate(samples):
        data = bound.images[0](i)
        assert type(data) is np.ndarray and data.dtype == np.uint8 and data.ndim == 1
        assert data.tobytes() == sample.images["image"]
        assert not data.flags.writeable  # a view of the read-only map, not a copy
        assert bound.labels[0](i) == sample.label == ds.label(i)
        features = bound.features[0](i)
        assert features.dtype == np.float32
        assert features.tolist() == [sample.features["idx"], sample.features["score"]]
        assert ds.read_bytes(i).tobytes() == sample.images["image"]
    assert ds.read_bytes(-1).tobytes() == samples[-1].images["image"]
    with pytest.raises(IndexError, match="index 7 out of range for 7 samples"):
        ds.read_bytes(7)
    assert ds.source_indices().tolist() == list(range(7))
    heights_widths = [list(s.sizes["image"]) for s in samples]
    assert ds.image_sizes().tolist() == heights_widths


def test_boxes_are_float32_rows_per_sample(folder: Path, samples: list[Any]) -> None:
    ds = Prepared(folder)
    bound = ds.bind(layout(BOXES))
    assert bound.boxes is not None and bound.num_classes == 3
    for i, sample in enumerate(samples):
        xyxy, labels = bound.boxes(i)
        assert xyxy.dtype == np.float32 and xyxy.shape == (len(sample.boxes), 4)
        assert labels.dtype == np.int64 and labels.tolist() == sample.box_labels
        assert np.array_equal(xyxy, np.array(sample.boxes, dtype=np.float32).reshape(-1, 4))
        assert np.array_equal(ds.boxes(i)[0], xyxy)


def test_path_names_the_member_and_the_original(folder: Path) -> None:
    ds = Prepared(folder)
    bound = ds.bind(layout())
    shard = folder / SHARDS_DIR / "shard-000001.tar"
    assert bound.path(4) == f"{shard}:000000004.image.jpg (from /original/img/4.jpg)"
    assert ds.path(4) == bound.path(4)
    assert "shards=3, samples=7" in repr(ds)


def test_fingerprint_is_stable_and_follows_the_shards(tmp_path: Path, samples: list[Any]) -> None:
    a = write_prepared(tmp_path / "a", samples)
    b = write_prepared(tmp_path / "b", samples)
    c = write_prepared(tmp_path / "c", samples[:6])
    assert Prepared(a).fingerprint() == Prepared(b).fingerprint()
    assert Prepared(a).fingerprint() != Prepared(c).fingerprint()


def test_classic_layout_and_unbound_reads(tmp_path: Path, samples: list[Any]) -> None:
    """A classic spec binds image column ``images``; reads before binding use the first
    stored image and label columns (validate and preview read that way)."""
    folder = write_prepared(tmp_path / "out", make_samples(4, columns=("images",)))
    ds = Prepared(folder)
    assert ds.label(1) == 1 and len(ds.read_bytes(0)) > 0
    bound = ds.bind(layout(None))
    assert [bound.labels[0](i) for i in range(4)] == [0, 1, 2, 0]


def test_missing_column_lists_what_the_data_holds(folder: Path) -> None:
    ds = Prepared(folder)
    source: dict[str, Any] = {"outputs": [{"kind": "image", "name": "photo"}]}
    with pytest.raises(
        DatasetError,
        match=r"expected a stored image column, got 'photo'.*"
        r"holds images \['image'\], labels \['label'\]",
    ):
        ds.bind(layout(source))
    source = {
        "outputs": [
            {"kind": "image", "name": "image"},
            {"kind": "features", "columns": ["idx", "age"]},
        ]
    }
    with pytest.raises(DatasetError, match=r"\['age'\] missing.*features \['idx', 'score'\]"):
        ds.bind(layout(source))
    source = {"outputs": [{"kind": "image", "name": "image"}, {"kind": "label", "column": "y"}]}
    with pytest.raises(DatasetError, match="expected a stored label column, got 'y'"):
        ds.bind(layout(source))


def test_declared_classes_must_be_the_stored_ones(folder: Path) -> None:
    ds = Prepared(folder)
    source = {
        "outputs": [
            {"kind": "image", "name": "image"},
            {"kind": "label", "classes": ["dog", "cat", "eel"]},
        ]
    }
    with pytest.raises(
        DatasetError,
        match=r"classes of column 'label' \['cat', 'dog', 'eel'\], got \['dog', 'cat', 'eel'\]",
    ):
        ds.bind(layout(source))
    same = {
        "outputs": [{"kind": "image", "name": "image"}, {"kind": "label", "classes": list(CLASSES)}]
    }
    assert ds.bind(layout(same)).num_classes == 3


def test_incomplete_manifest_is_refused(tmp_path: Path, samples: list[Any]) -> None:
    folder = write_prepared(tmp_path / "out", samples, complete=False)
    with pytest.raises(
        DatasetError,
        match=r"prepared.json: complete: expected true, got false \(an interrupted prepare run: "
        r"rerun dali-pipelines prepare with the same arguments to finish it\)",
    ):
        Prepared(folder)


def test_wrong_format_or_version_is_refused(folder: Path) -> None:
    edit_json(folder / MANIFEST_NAME, lambda d: d.update(version=2))
    with pytest.raises(DatasetError, match=r"prepared.json: version: expected a valid prepared"):
        Prepared(folder)
    edit_json(folder / MANIFEST_NAME, lambda d: d.update(version=1, format="other"))
    with pytest.raises(DatasetError, match=r"prepared.json: format: expected a valid prepared"):
        Prepared(folder)


def test_missing_or_truncated_shard_is_refused(folder: Path) -> None:
    shard = folder / SHARDS_DIR / "shard-000001.tar"
    size = shard.stat().st_size
    os.truncate(shard, size - 512)
    with pytest.raises(
        DatasetError,
        match=rf"shard-000001.tar: expected {size} bytes \(prepared.json\), got {size - 512}",
    ):
        Prepared(folder)
    shard.unlink()
    with pytest.raises(
        DatasetError, match=r"shard-000001\.tar: expected a shard of the prepared data"
    ):
        Prepared(folder)


def test_shard_name_may_not_leave_the_folder(folder: Path) -> None:
    edit_json(folder / MANIFEST_NAME, lambda d: d["shards"][0].update(name="../../etc/x.tar"))
    with pytest.raises(DatasetError, match=r"expected a file name inside shards/, got '../../etc"):
        Prepared(folder)


def test_index_extent_past_the_end_is_refused(folder: Path) -> None:
    index = folder / SHARDS_DIR / "shard-000000.index.json"
    edit_json(index, lambda d: d["images"]["image"].update(size=[1, 2, 1 << 40]))
    with pytest.raises(
        DatasetError,
        match=r"images.image: expected member 000000002.image.jpg inside the shard \(\d+ bytes\), "
        r"got 1099511627776 bytes at offset \d+ \(a damaged or forged index\)",
    ):
        Prepared(folder)


def test_index_must_match_the_manifest(folder: Path) -> None:
    index = folder / SHARDS_DIR / "shard-000002.index.json"
    edit_json(index, lambda d: d.update(sha256="0" * 64))
    with pytest.raises(DatasetError, match=r"sha256: expected '[0-9a-f]{64}' \(prepared.json\)"):
        Prepared(folder)
    edit_json(index, lambda d: d.update(keys=[], sha256=None))
    with pytest.raises(DatasetError, match=r"shard-000002\.index\.json: sha256: expected a valid"):
        Prepared(folder)


def test_index_columns_need_one_entry_per_sample(folder: Path) -> None:
    index = folder / SHARDS_DIR / "shard-000000.index.json"
    edit_json(index, lambda d: d["labels"].update(label=[0, 1]))
    with pytest.raises(
        DatasetError, match=r"labels.label: expected 3 entries \(one per sample\), got 2"
    ):
        Prepared(folder)


def test_boxes_rows_must_lie_in_the_table(folder: Path) -> None:
    index = folder / SHARDS_DIR / "shard-000000.index.json"
    edit_json(index, lambda d: d["boxes"]["boxes"].update(count=[0, 1, 99]))
    with pytest.raises(DatasetError, match=r"boxes.boxes: expected sample 000000002's rows inside"):
        Prepared(folder)


def test_verify_catches_a_flipped_byte(folder: Path) -> None:
    path, offset, size = member_extent(folder, 1, "000000004.image.jpg")
    data = bytearray(path.read_bytes()[offset : offset + size])
    data[size // 2] ^= 0xFF
    overwrite_member(path, offset, bytes(data))
    assert len(Prepared(folder)) == 7  # sizes match: only hashing sees it
    with pytest.raises(
        DatasetError,
        match=r"shard-000001.tar: expected SHA-256 [0-9a-f]{64} \(prepared.json\), got",
    ):
        Prepared(folder, verify=True)


def test_max_file_bytes_bounds_a_member(folder: Path) -> None:
    ds = Prepared(folder, max_file_bytes=100)
    ds.bind(layout())
    with pytest.raises(FileRefusedError, match=r"000000000.image.jpg \(from /original/img/0.jpg\)"):
        ds.read_bytes(0)
    with pytest.raises(DatasetError, match="max_file_bytes: expected None or an int >= 1"):
        Prepared(folder, max_file_bytes=0)


def test_maps_reopen_after_fork_pickle_and_close(folder: Path, samples: list[Any]) -> None:
    ds = Prepared(folder)
    first = ds.read_bytes(0)
    ds._files._pid = -1  # as a forked child sees it: the maps and lock are the parent's
    assert ds.read_bytes(1).tobytes() == samples[1].images["image"]
    assert ds._files._pid == os.getpid() and set(ds._files._maps) == {0}
    again = pickle.loads(pickle.dumps(ds))
    assert again.read_bytes(5).tobytes() == samples[5].images["image"]
    ds.close()
    assert first.tobytes() == samples[0].images["image"]  # returned views outlive close
    assert ds.read_bytes(2).tobytes() == samples[2].images["image"]


def test_is_prepared(folder: Path, tmp_path: Path) -> None:
    assert is_prepared(folder) and is_prepared(str(folder))
    assert not is_prepared(tmp_path) and not is_prepared(folder / MANIFEST_NAME)
    assert not is_prepared("no\0where")


def test_not_a_folder(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected the output folder of dali-pipelines prepare"):
        Prepared(tmp_path / "missing")
    with pytest.raises(DatasetError, match=r"prepared\.json: expected a prepared manifest"):
        Prepared(tmp_path)


def test_dataloader_over_a_prepared_folder(folder: Path, samples: list[Any]) -> None:
    from dali_pipelines import DataLoader

    spec = {"ops": [{"op": "resize", "size": [16, 16]}], "source": SOURCE}
    with DataLoader(Prepared(folder), spec, batch_size=4, backend="reference") as loader:
        batches = list(loader)
    assert [len(b[0]) for b in batches] == [4, 3]
    idx = [int(v) for b in batches for v in b[1][:, 0]]
    assert idx == list(range(7))
    assert [int(v) for b in batches for v in b[2]] == [s.label for s in samples]


def test_offsets_must_point_at_their_members(folder: Path) -> None:
    """An index whose offsets miss the members' data (the tar header's offset, another
    member's) fails naming the member: at open for a shard's first or last member, at read
    for the others."""
    index = folder / SHARDS_DIR / "shard-000000.index.json"
    edit_json(index, lambda d: d["images"]["image"].update(offset=[0, 0, 0]))
    with pytest.raises(
        DatasetError,
        match=r"shard-000000\.tar: expected member '000000000\.image\.jpg' at offset 0 \(its "
        r"index\), got no tar header before it \(an index that does not match its shard",
    ):
        Prepared(folder)
    _, wrong, _ = member_extent(folder, 0, "000000000.cls")
    _, first, _ = member_extent(folder, 0, "000000000.image.jpg")
    _, last, _ = member_extent(folder, 0, "000000002.image.jpg")
    edit_json(index, lambda d: d["images"]["image"].update(offset=[first, wrong, last]))
    ds = Prepared(folder)
    assert len(ds.read_bytes(0)) > 0
    with pytest.raises(
        DatasetError,
        match=r"expected member '000000001\.image\.jpg' at offset "
        rf"{wrong} \(its index\), got the data of '000000000\.cls'",
    ):
        ds.read_bytes(1)
