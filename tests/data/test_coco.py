"""Coco: images sorted by id, xywh boxes as xyxy, category ids as contiguous classes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dali_pipelines import load_spec
from dali_pipelines.data.coco import Coco
from dali_pipelines.errors import DatasetError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.layout import Layout
from tests.sources_data import SQUARES, write_coco


def layout(*outputs: dict[str, object]) -> Layout:
    spec = {"ops": [{"op": "resize", "size": [16, 16]}], "source": {"outputs": list(outputs)}}
    return make_plan(load_spec(spec)).layout


DETECTION = layout({"kind": "image", "name": "image"}, {"kind": "boxes"})


def test_samples_boxes_and_classes(tmp_path: Path) -> None:
    annotations, images = write_coco(tmp_path)
    ds = Coco(annotations, images)
    assert ds.ids == [97, 98, 99, 100] and ds.classes == ["crowd", "red"]
    bound = ds.bind(DETECTION)
    assert bound.boxes is not None and bound.num_classes == 2
    for index, k in enumerate(reversed(range(len(SQUARES)))):  # ids reverse the file order
        top, left, side = SQUARES[k]
        boxes, classes = bound.boxes(index)
        assert np.array_equal(boxes, [[left, top, left + side, top + side]])
        assert classes.tolist() == [1]  # "red" is category 7, the second sorted id
        assert bound.path(index).endswith(f"im{k}.png")
    crowd = Coco(annotations, images, include_crowd=True)
    assert len(crowd.boxes(0)[0]) == 2 and crowd.boxes(0)[1].tolist() == [1, 0]


def _broken(tmp_path: Path, edit: str) -> tuple[Path, Path]:
    annotations, images = write_coco(tmp_path)
    data = json.loads(annotations.read_text())
    if edit == "bbox":
        data["annotations"][2]["bbox"] = [1, 2, -3, 4]
    elif edit == "image_id":
        data["annotations"][0]["image_id"] = 5
    elif edit == "category":
        data["annotations"][0]["category_id"] = 99
    elif edit == "escape":
        data["images"][1]["file_name"] = "../instances.json"
    elif edit == "missing":
        data["images"][1]["file_name"] = "nope.png"
    annotations.write_text(json.dumps(data))
    return annotations, images


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ("bbox", r"annotations\[2\]\.bbox: expected \[x, y, width, height\] with width, height"),
        ("image_id", r"annotations\[0\]\.image_id: expected an id from images, got 5"),
        ("category", r"annotations\[0\]\.category_id: expected an id from categories, got 99"),
        ("escape", r"image id 99: expected a path inside the images folder"),
        ("missing", r"image id 99: expected an existing file, got 'nope\.png'"),
    ],
)
def test_errors_name_the_record(tmp_path: Path, edit: str, message: str) -> None:
    with pytest.raises(DatasetError, match=message):
        Coco(*_broken(tmp_path, edit))


def test_layout_must_fit_a_detection_source(tmp_path: Path) -> None:
    ds = Coco(*write_coco(tmp_path))
    with pytest.raises(DatasetError, match=r"expected one image output and optionally boxes"):
        ds.bind(layout({"kind": "image", "name": "image"}, {"kind": "label"}))
    with pytest.raises(DatasetError, match=r"outputs\.photo\.column: expected 'image'"):
        ds.bind(layout({"kind": "image", "name": "photo"}, {"kind": "boxes"}))
    with pytest.raises(DatasetError, match=r"Coco\.images: expected a directory"):
        Coco(tmp_path / "instances.json", tmp_path / "nowhere")
