"""Prepared through the real writer: ``prepare(source, out)`` then ``Prepared(out)`` gives the
source's labels, features and boxes back (issue #15's round trip), and the package's path
openers (validate, preview) take a prepared folder as such."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dali_pipelines import Coco, DataLoader, ImageFolder, Manifest, load_spec
from dali_pipelines.data.columns import bind_source
from dali_pipelines.data.prepared import Prepared
from dali_pipelines.errors import DatasetError
from dali_pipelines.plan import make_plan
from dali_pipelines.preparation import prepare
from tests.badfiles import BY_NAME
from tests.conftest import write_image_folder
from tests.sources_data import write_coco, write_manifest

RESIZE = [{"op": "resize", "size": [16, 16]}]
MANIFEST_SOURCE: dict[str, Any] = {
    "outputs": [
        {"kind": "image", "name": "a"},
        {"kind": "image", "name": "c"},
        {"kind": "features", "columns": ["speed", "score"]},
        {"kind": "label"},
    ]
}
COCO_SOURCE: dict[str, Any] = {"outputs": [{"kind": "image", "name": "image"}, {"kind": "boxes"}]}


def spec(source: dict[str, Any] | None) -> Any:
    data: dict[str, Any] = {"ops": RESIZE}
    if source is not None:
        data["source"] = source
    return load_spec(data)


def test_image_folder_through_the_loader(tmp_path: Path) -> None:
    """ImageFolder -> prepare -> Prepared -> DataLoader: the same labels in the same order,
    and a bad file is left out by prepare (the rest keep their labels)."""
    root = write_image_folder(tmp_path / "src", classes=3, per_class=3, min_side=40, max_side=64)
    (root / "class_1" / "999.jpg").write_bytes(BY_NAME["zero_bytes"].make())
    folder = ImageFolder(root)
    good = [i for i, (p, _) in enumerate(folder.samples) if not p.endswith("999.jpg")]
    manifest = prepare(root, tmp_path / "out", max_side=32, workers=1)
    assert manifest.complete and manifest.counts.bad == 1
    ds = Prepared(tmp_path / "out")
    assert len(ds) == len(good) and ds.classes == tuple(folder.classes)
    assert (ds.image_sizes() <= 32).all()
    with DataLoader(ds, spec(None), batch_size=4, backend="reference") as loader:
        labels = [int(v) for batch in loader for v in batch[1]]
    assert labels == [folder.label(i) for i in good]
    assert ds.source_indices().tolist() == good
    assert ds.path(0).endswith(f"(from {folder.samples[0][0]})")


def test_manifest_round_trip(tmp_path: Path) -> None:
    path = write_manifest(tmp_path / "src", rows=6, sizes=(40, 56))
    layout = make_plan(spec(MANIFEST_SOURCE)).layout
    prepare(path, tmp_path / "out", spec=spec(MANIFEST_SOURCE), max_side=32, workers=1)
    original = bind_source(Manifest(path), layout)
    ds = Prepared(tmp_path / "out")
    bound = ds.bind(layout)
    assert len(ds) == 6 and bound.num_classes == original.num_classes == 3
    for i in range(6):
        assert bound.labels[0](i) == original.labels[0](i)
        assert np.array_equal(bound.features[0](i), original.features[0](i))
        assert bound.features[0](i).dtype == np.float32
    for column in ("a", "c"):
        sizes = ds.image_sizes(column)
        assert (sizes.max(axis=1) == 32).all()  # 40-56 px sides re-encoded at the bound
        assert (ds.images[column].size > 0).all()


def test_coco_round_trip_boxes_within_half_a_pixel(tmp_path: Path) -> None:
    annotations, images = write_coco(tmp_path / "src")
    layout = make_plan(spec(COCO_SOURCE)).layout
    prepare(images, tmp_path / "out", annotations=annotations, max_side=32, workers=1)
    coco = Coco(annotations, images)
    ds = Prepared(tmp_path / "out")
    bound = ds.bind(layout)
    assert len(ds) == len(coco) and bound.num_classes == coco.num_classes
    stored, source = ds.image_sizes(), ds.source_sizes()
    assert (stored.max(axis=1) == 32).all() and (source == [64, 96]).all()
    assert bound.boxes is not None
    for i in range(len(coco)):
        want_xyxy, want_labels = coco.boxes(i)
        xyxy, labels = bound.boxes(i)
        assert np.array_equal(labels, want_labels)
        scale_y, scale_x = source[i] / stored[i]
        back = xyxy * np.array([scale_x, scale_y, scale_x, scale_y], dtype=np.float32)
        assert np.abs(back - want_xyxy).max() <= 0.5, (i, back, want_xyxy)


def test_prepared_coco_refuses_a_manifest_layout(tmp_path: Path) -> None:
    annotations, images = write_coco(tmp_path / "src")
    prepare(images, tmp_path / "out", annotations=annotations, workers=1)
    ds = Prepared(tmp_path / "out")
    with pytest.raises(
        DatasetError,
        match=r"source.outputs.images: expected a stored image column, got 'images'; the "
        r"prepared data holds images \['image'\], labels \[\], features \[\], boxes \['boxes'\]",
    ):
        ds.bind(make_plan(spec(None)).layout)
    labelled = {"outputs": [{"kind": "image", "name": "image"}, {"kind": "label"}]}
    with pytest.raises(DatasetError, match=r"expected a stored label column, got 'label'"):
        ds.bind(make_plan(spec(labelled)).layout)


def test_validate_and_preview_open_a_prepared_folder(tmp_path: Path) -> None:
    from dali_pipelines.bench.preview import open_preview_dataset
    from dali_pipelines.data.validate import as_source, validate

    root = write_image_folder(tmp_path / "src", classes=2, per_class=2, min_side=40, max_side=48)
    prepare(root, tmp_path / "out", workers=1)
    assert isinstance(as_source(tmp_path / "out"), Prepared)
    report = validate(tmp_path / "out", workers=1)
    assert len(report.files) == 4 and report.ok, report.bad
    assert isinstance(open_preview_dataset(tmp_path / "out", spec(None), None), Prepared)
