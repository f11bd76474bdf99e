"""``Coco``: detection samples from a COCO ``instances`` JSON and its image folder.

Samples are the annotation file's images sorted by id (``torchvision.datasets.CocoDetection``'s
order). Each sample's boxes are its annotations' ``bbox`` ([x, y, width, height] in pixels)
turned into (x1, y1, x2, y2); the class of a box is the index of its ``category_id`` among the
sorted category ids, so ``classes`` are the category names in that order. Crowd annotations
are left out unless ``include_crowd``. File names are relative to ``images`` and may not leave
it (as manifest paths).

Spec columns: the image output's column is ``image`` and the boxes output's column ``boxes``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DatasetError
from .columns import BoundSource, Boxes
from .paths import read_file, safe_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout


class Coco:
    def __init__(
        self,
        annotations: str | os.PathLike[str],
        images: str | os.PathLike[str],
        *,
        include_crowd: bool = False,
        check_files: bool = True,
    ):
        self.annotations = Path(annotations)
        if not self.annotations.is_file():
            got = str(annotations)
            raise DatasetError(f"Coco.annotations: expected a COCO JSON file, got {got!r}")
        if not Path(images).is_dir():
            raise DatasetError(f"Coco.images: expected a directory, got {str(images)!r}")
        self.root = os.path.realpath(images)
        raw = self.annotations.read_bytes()
        self._digest = hashlib.sha256(raw).hexdigest()[:16]
        name = self.annotations.name
        try:
            data = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{name}: expected COCO JSON, got invalid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise DatasetError(f"{name}: expected an object at the top, got {type(data).__name__}")
        records = _records(data, "images", name)
        categories = _records(data, "categories", name)
        cat_ids = sorted(
            int(_field(c, "id", f"{name} categories[{i}]")) for i, c in enumerate(categories)
        )
        names = {int(c["id"]): str(c.get("name", c["id"])) for c in categories}
        self.classes = [names[i] for i in cat_ids]
        class_of = {cat: k for k, cat in enumerate(cat_ids)}
        images_by_id: dict[int, dict[str, Any]] = {}
        for i, record in enumerate(records):
            where = f"{name} images[{i}]"
            images_by_id[int(_field(record, "id", where))] = record
            _field(record, "file_name", where)
        self.ids = sorted(images_by_id)
        position = {image_id: k for k, image_id in enumerate(self.ids)}
        boxes: list[list[list[float]]] = [[] for _ in self.ids]
        labels: list[list[int]] = [[] for _ in self.ids]
        for i, ann in enumerate(_records(data, "annotations", name)):
            where = f"{name} annotations[{i}]"
            if ann.get("iscrowd", 0) and not include_crowd:
                continue
            image_id = int(_field(ann, "image_id", where))
            if image_id not in position:
                raise DatasetError(f"{where}.image_id: expected an id from images, got {image_id}")
            category = int(_field(ann, "category_id", where))
            if category not in class_of:
                raise DatasetError(
                    f"{where}.category_id: expected an id from categories, got {category}"
                )
            bbox = _field(ann, "bbox", where)
            if (
                not isinstance(bbox, list)
                or len(bbox) != 4
                or not all(isinstance(v, (int, float)) and math.isfinite(v) for v in bbox)
                or bbox[2] < 0
                or bbox[3] < 0
            ):
                raise DatasetError(
                    f"{where}.bbox: expected [x, y, width, height] with width, height >= 0, "
                    f"got {bbox!r}"
                )
            x, y, w, h = (float(v) for v in bbox)
            boxes[position[image_id]].append([x, y, x + w, y + h])
            labels[position[image_id]].append(class_of[category])
        self._boxes = [np.array(b, dtype=np.float32).reshape(-1, 4) for b in boxes]
        self._labels = [np.array(lab, dtype=np.int64) for lab in labels]
        self._files = [
            safe_path(
                self.root,
                images_by_id[image_id]["file_name"],
                f"{name} image id {image_id}",
                "the images folder",
                check_files,
            )
            for image_id in self.ids
        ]
        if not self._files:
            raise DatasetError(f"{name}: expected at least one image, got none")

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"Coco(annotations={str(self.annotations)!r}, images={len(self)})"

    def boxes(self, index: int) -> Boxes:
        """(K, 4) float32 x1, y1, x2, y2 and (K,) int64 classes of sample ``index``."""
        return self._boxes[index], self._labels[index]

    def bind(self, layout: Layout) -> BoundSource:
        if len(layout.images) != 1 or layout.labels or layout.features:
            got = ", ".join(f"{o.name} ({o.kind})" for o in layout.source.outputs)
            raise DatasetError(
                f"{self.annotations.name}: expected one image output and optionally boxes for "
                f"a Coco source, got {got}"
            )
        column = layout.images[0].key
        if column != "image":
            raise DatasetError(
                f"source.outputs.{layout.images[0].name}.column: expected 'image' for a Coco "
                f"source, got {column!r}"
            )
        if layout.boxes is not None and layout.boxes.column != "boxes":
            raise DatasetError(
                f"source.outputs.{layout.boxes.name}.column: expected 'boxes' for a Coco "
                f"source, got {layout.boxes.column!r}"
            )
        return BoundSource(
            dataset=self,
            images=(functools.partial(read_file, self._files),),
            image_paths=(self._files.__getitem__,),
            boxes=self.boxes if layout.boxes is not None else None,
            num_classes=len(self.classes),
        )

    # -- SampleSource --------------------------------------------------------------------------
    def read_bytes(self, index: int) -> np.ndarray:
        return read_file(self._files, index)

    def label(self, index: int) -> int:
        return -1  # detection samples have no image-level class

    def path(self, index: int) -> str:
        return self._files[index]

    def fingerprint(self) -> str:
        return self._digest


def _records(data: dict[str, Any], key: str, name: str) -> list[dict[str, Any]]:
    value = data.get(key, [] if key == "annotations" else None)
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        got = type(value).__name__ if value is not None else "nothing"
        raise DatasetError(f"{name}.{key}: expected a list of objects, got {got}")
    return value


def _field(record: dict[str, Any], key: str, where: str) -> Any:
    if key not in record or record[key] is None:
        raise DatasetError(f"{where}.{key}: expected a value, got nothing")
    return record[key]
