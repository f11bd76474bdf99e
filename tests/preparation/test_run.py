"""prepare(): columns carried, shards bounded, bad files listed, output independent of workers."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import numpy as np
import pytest

from dali_pipelines.data.coco import Coco
from dali_pipelines.data.prepared_format import Options, SampleRecord
from dali_pipelines.errors import DatasetError
from dali_pipelines.preparation import prepare
from tests.preparation.helpers import files, indexes, stored_images, tar_members, write_folder
from tests.sources_data import write_coco, write_manifest, write_shards

SIZES = [(48 + 7 * (i % 4), 64 + 5 * (i % 3)) for i in range(12)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_folder(tmp_path_factory.mktemp("folder"), SIZES)
    (root / "class1" / "zz_text.jpg").write_text("<html>not found</html>\n")
    data = (root / "class0" / "000.jpg").read_bytes()
    (root / "class0" / "001b_truncated.jpg").write_bytes(data[: len(data) // 2])
    return root


def test_a_folder_is_written_in_source_order_with_labels_and_classes(
    folder: Path, tmp_path: Path
) -> None:
    seen: list[tuple[int, int]] = []
    manifest = prepare(folder, tmp_path / "out", max_side=40, progress=lambda *a: seen.append(a))
    assert manifest.complete and manifest.next_source_index == manifest.source.samples == 14
    assert seen == [(i + 1, 14) for i in range(14)]
    assert manifest.source.kind == "ImageFolder" and manifest.classes == {
        "label": ("class0", "class1")
    }
    assert manifest.num_classes == {"label": 2}
    assert [o["kind"] for o in manifest.outputs] == ["image", "label"]
    assert manifest.counts.samples == 12 and manifest.counts.reencoded == 12
    (index,) = indexes(tmp_path / "out")
    assert index.source_index == tuple(sorted(index.source_index))
    assert all(
        max(w, h) == 40 for w, h in zip(index.images["images"].width, index.images["images"].height)
    )
    assert index.labels["label"] == tuple(int(Path(p).parent.name[-1]) for p in index.paths)


def test_bad_files_are_listed_with_reasons_and_left_out(folder: Path, tmp_path: Path) -> None:
    manifest = prepare(folder, tmp_path / "out", max_side=40, workers=2)
    reasons = {Path(b.path).name: b.reason for b in manifest.bad}
    assert reasons == {"001b_truncated.jpg": "truncated", "zz_text.jpg": "not_image"}
    assert manifest.counts.bad == 2 and all(b.detail for b in manifest.bad)
    stored = [Path(path).name for path, _ in stored_images(tmp_path / "out")]
    assert len(stored) == 12 and not set(stored) & set(reasons)
    bad_index = {b.source_index for b in manifest.bad}
    assert not bad_index & {i for index in indexes(tmp_path / "out") for i in index.source_index}


def test_images_within_the_bound_are_stored_byte_for_byte(folder: Path, tmp_path: Path) -> None:
    manifest = prepare(folder, tmp_path / "out", max_side=64)
    assert manifest.counts.kept + manifest.counts.reencoded == 12
    assert manifest.counts.kept == sum(1 for h, w in SIZES if max(h, w) <= 64)
    for path, data in stored_images(tmp_path / "out"):
        source = Path(path).read_bytes()
        assert (data == source) == (max(*_size(source)) <= 64)


def _size(data: bytes) -> tuple[int, int]:
    import io

    from PIL import Image

    return Image.open(io.BytesIO(data)).size


def test_shards_respect_the_byte_and_sample_bounds(folder: Path, tmp_path: Path) -> None:
    manifest = prepare(folder, tmp_path / "a", max_side=40, max_shard_bytes=10_240)
    assert len(manifest.shards) > 2
    for entry in manifest.shards:
        assert entry.bytes == (tmp_path / "a" / "shards" / entry.name).stat().st_size
        assert entry.bytes <= 10_240 or entry.samples == 1
    assert sum(e.samples for e in manifest.shards) == 12
    # A sample larger than the bound gets a shard of its own.
    big = prepare(folder, tmp_path / "b", max_side=64, max_shard_bytes=1_000)
    assert [e.samples for e in big.shards] == [1] * 12
    counted = prepare(folder, tmp_path / "c", max_side=40, max_shard_samples=5)
    assert [e.samples for e in counted.shards] == [5, 5, 2]
    assert [e.first_source_index for e in counted.shards] == [0, 6, 11]  # 1 is bad


def test_the_output_does_not_depend_on_the_worker_count(folder: Path, tmp_path: Path) -> None:
    for workers in (1, 3):
        prepare(
            folder, tmp_path / str(workers), max_side=40, max_shard_bytes=10_240, workers=workers
        )
    one, three = files(tmp_path / "1"), files(tmp_path / "3")
    assert one == three and len(one) > 3


def test_tars_are_standard_webdataset_tars(folder: Path, tmp_path: Path) -> None:
    prepare(folder, tmp_path / "out", max_side=40, max_shard_bytes=10_240)
    for index in indexes(tmp_path / "out"):
        shard = tmp_path / "out" / "shards" / index.shard
        members = tar_members(shard)
        expected = [f"{k}.{suffix}" for k in index.keys for suffix in ("images.jpg", "cls", "json")]
        assert [m.name for m in members] == expected
        assert all(
            (m.mtime, m.uid, m.gid, m.uname, m.gname, m.mode) == (0, 0, 0, "", "", 0o644)
            for m in members
        )
        images = [m for m in members if m.name.endswith(".jpg")]
        assert [m.offset_data for m in images] == list(index.images["images"].offset)
        assert [m.size for m in images] == list(index.images["images"].size)
        with tarfile.open(shard) as tar:
            for key, label in zip(index.keys, index.labels["label"]):
                cls = tar.extractfile(f"{key}.cls")
                record = tar.extractfile(f"{key}.json")
                assert cls is not None and record is not None
                assert cls.read() == str(label).encode()
                parsed = SampleRecord.model_validate(json.loads(record.read()))
                assert sample_key_of(parsed) == key and parsed.labels == {"label": label}
                assert parsed.images["images"]["member"] == f"{key}.images.jpg"


def sample_key_of(record: SampleRecord) -> str:
    return f"{record.source_index:09d}"


def test_a_manifest_carries_its_image_columns_labels_and_features(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=6)
    spec = {
        "ops": [{"op": "resize", "size": [16, 16]}],
        "source": {
            "outputs": [
                {"kind": "image", "name": "a"},
                {"kind": "image", "name": "other", "column": "c"},
                {"kind": "label"},
                {"kind": "features", "columns": ["speed", "score"]},
            ]
        },
    }
    manifest = prepare(path, tmp_path / "out", spec=spec, max_side=32)
    assert manifest.classes == {"label": ("cat", "dog", "eel")} and manifest.num_classes == {
        "label": 3
    }
    (index,) = indexes(tmp_path / "out")
    assert set(index.images) == {"a", "c"}
    assert index.labels == {"label": (0, 1, 2, 0, 1, 2)}
    rows = [line.split(",") for line in path.read_text().splitlines()[1:]]
    assert index.features["speed"] == tuple(float(np.float32(r[3])) for r in rows)
    assert index.features["score"] == tuple(float(np.float32(r[4])) for r in rows)
    names = [m.name for m in tar_members(tmp_path / "out" / "shards" / index.shard)][:4]
    assert names == ["000000000.a.jpg", "000000000.c.jpg", "000000000.cls", "000000000.json"]


def test_tar_shards_are_read_by_pattern_with_their_image_and_cls(tmp_path: Path) -> None:
    write_shards(tmp_path / "in", [3, 4])
    manifest = prepare(str(tmp_path / "in" / "shard-{000..001}.tar"), tmp_path / "out")
    assert manifest.source.kind == "WebDataset" and manifest.counts.kept == 7
    assert [o.get("column") for o in manifest.outputs] == ["jpg", "cls"]
    (index,) = indexes(tmp_path / "out")
    assert index.labels == {"cls": tuple(range(7))} and set(index.images) == {"jpg"}
    spec = {
        "ops": [],
        "source": {
            "outputs": [
                {"kind": "image", "name": "jpg"},
                {"kind": "features", "columns": ["speed"]},
            ]
        },
    }
    carried = prepare(str(tmp_path / "in" / "shard-000.tar"), tmp_path / "f", spec=spec)
    assert carried.counts.samples == 3
    assert indexes(tmp_path / "f")[0].features == {"speed": (0.0, 0.5, 1.0)}


@pytest.mark.parametrize("max_side", [40, 48, 96])
def test_coco_boxes_scale_exactly_with_their_image(tmp_path: Path, max_side: int) -> None:
    annotations, images = write_coco(tmp_path)
    manifest = prepare(images, tmp_path / "out", annotations=annotations, max_side=max_side)
    assert manifest.classes == {"boxes": ("crowd", "red")} and manifest.num_classes == {"boxes": 2}
    (index,) = indexes(tmp_path / "out")
    coco = Coco(annotations, images)
    column = index.images["image"]
    for i, source_index in enumerate(index.source_index):
        boxes, labels = coco.boxes(source_index)
        sx = column.width[i] / column.source_width[i]
        sy = column.height[i] / column.source_height[i]
        want = (boxes.astype(np.float64) * [sx, sy, sx, sy]).astype(np.float32)
        rows = index.boxes["boxes"]
        got = rows.xyxy[rows.start[i] : rows.start[i] + rows.count[i]]
        assert np.array_equal(np.array(got, dtype=np.float32), want)
        assert list(rows.labels[rows.start[i] : rows.start[i] + rows.count[i]]) == labels.tolist()
    expected_width = min(96, max_side)
    assert set(column.width) == {expected_width} and all(column.kept) == (max_side == 96)


def test_inputs_that_cannot_be_prepared_are_refused(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected max_side or min_side, got both"):
        prepare(folder, tmp_path / "a", max_side=32, min_side=32)
    with pytest.raises(DatasetError, match=r"options\.quality"):
        prepare(folder, tmp_path / "a", options=Options(), quality=0)
    with pytest.raises(DatasetError, match="expected an image spec"):
        prepare(folder, tmp_path / "a", spec="speech_fbank80")
    with pytest.raises(DatasetError, match="source: expected a folder"):
        prepare(tmp_path / "nothing.txt", tmp_path / "a")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(DatasetError, match="expected an empty folder or a prepare output"):
        prepare(folder, foreign)
    assert not (tmp_path / "a").exists() or not any((tmp_path / "a").iterdir())


def test_a_finished_output_is_returned_and_a_different_one_refused(
    folder: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    first = prepare(folder, out, max_side=40)
    before = files(out)
    calls: list[object] = []
    again = prepare(folder, out, max_side=40, progress=lambda *a: calls.append(a))
    assert again == first and not calls and files(out) == before
    message = r"options\.max_side: expected 40 \(the run being resumed\), got 48; remove"
    with pytest.raises(DatasetError, match=message):
        prepare(folder, out, max_side=48)
    with pytest.raises(DatasetError, match=r"outputs: expected"):
        prepare(
            folder,
            out,
            max_side=40,
            spec={"ops": [], "source": {"outputs": [{"kind": "image", "name": "images"}]}},
        )
    assert files(out) == before


def test_the_top_level_name_is_the_function(folder: Path, tmp_path: Path) -> None:
    import dali_pipelines.preparation  # a loaded subpackage must not shadow the function

    assert dali_pipelines.prepare is dali_pipelines.preparation.prepare
    assert "prepare" in dali_pipelines.__all__
    assert dali_pipelines.prepare(folder, tmp_path / "out", max_side=40).complete
