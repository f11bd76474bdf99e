"""``Coco``: detection samples from a COCO ``instances`` JSON and its image folder.

Samples are the annotation file's images sorted by id (``torchvision.datasets.CocoDetection``'s
order). Each sample's boxes are its annotations' ``bbox`` ([x, y, width, height] in pixels)
turned into (x1, y1, x2, y2); the class of a box is the index of its ``category_id`` among the
sorted category ids, so ``classes`` are the category names in that order and
``category_ids[k]`` is the category id of class ``k`` (to map predictions back for COCOeval);
``box_labels="category_id"`` yields the category ids themselves, as torchvision's wrapped
``CocoDetection`` does. Crowd annotations are left out unless ``include_crowd``. File names are
relative to ``images`` and may not leave it (as manifest paths). Ids must be JSON integers (not
coerced from ``1.0`` or ``"1"``) and unique; the file is read up to ``max_bytes``.

Spec columns: the image output's column is ``image`` and the boxes output's column ``boxes``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import DatasetError
from .columns import BoundSource, Boxes, read_data_file
from .paths import read_file, safe_path

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..plan.layout import Layout

_FLOAT32_MAX = float(np.finfo(np.float32).max)


#: The largest annotation file read, in bytes (2 GiB; COCO 2017's train instances are 448 MB).
#: Parsing JSON takes several times the file's size in memory; overridable per ``Coco``.
MAX_ANNOTATION_BYTES = 2 << 30

BoxLabels = Literal["index", "category_id"]


class Coco:
    """COCO detection samples; ``category_ids[k]`` is the category id of class index ``k``.

    ``box_labels="index"`` (default) yields class indices ``0..len(classes)-1``;
    ``"category_id"`` yields the file's own category ids (as torchvision's wrapped
    ``CocoDetection`` does), which COCOeval expects back.
    """

    def __init__(
        self,
        annotations: str | os.PathLike[str],
        images: str | os.PathLike[str],
        *,
        include_crowd: bool = False,
        check_files: bool = True,
        box_labels: BoxLabels = "index",
        max_bytes: int = MAX_ANNOTATION_BYTES,
    ):
        self.annotations = Path(annotations)
        if not self.annotations.is_file():
            got = str(annotations)
            raise DatasetError(f"Coco.annotations: expected a COCO JSON file, got {got!r}")
        if not Path(images).is_dir():
            raise DatasetError(f"Coco.images: expected a directory, got {str(images)!r}")
        if box_labels not in ("index", "category_id"):
            got = repr(box_labels)
            raise DatasetError(f"Coco.box_labels: expected 'index' or 'category_id', got {got}")
        if type(max_bytes) is not int or max_bytes < 1:
            raise DatasetError(f"Coco.max_bytes: expected an int >= 1, got {max_bytes!r}")
        self.root = os.path.realpath(images)
        self.box_labels: BoxLabels = box_labels
        raw = read_data_file(self.annotations, max_bytes, "Coco.max_bytes")
        self._digest = hashlib.sha256(raw).hexdigest()[:16]
        data = _load_json(raw, self.annotations.name)
        name = self.annotations.name
        #: Category id of each class index (sorted ids): maps predictions back for COCOeval.
        self.category_ids, self.classes = _categories(data, name)
        images_by_id = _images(data, name)
        self.ids = sorted(images_by_id)
        self._boxes, self._labels = self._read_annotations(data, name, include_crowd)
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

    def _read_annotations(
        self, data: dict[str, Any], name: str, include_crowd: bool
    ) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Per image: (K, 4) float32 x1, y1, x2, y2 boxes and (K,) int64 labels."""
        position = {image_id: k for k, image_id in enumerate(self.ids)}
        class_of = {cat: k for k, cat in enumerate(self.category_ids)}
        boxes: list[list[list[float]]] = [[] for _ in self.ids]
        labels: list[list[int]] = [[] for _ in self.ids]
        for i, ann in enumerate(_records(data, "annotations", name)):
            where = f"{name} annotations[{i}]"
            if ann.get("iscrowd", 0) and not include_crowd:
                continue
            image_id = _int_field(ann, "image_id", where)
            if image_id not in position:
                raise DatasetError(f"{where}.image_id: expected an id from images, got {image_id}")
            category = _int_field(ann, "category_id", where)
            if category not in class_of:
                raise DatasetError(
                    f"{where}.category_id: expected an id from categories, got {category}"
                )
            boxes[position[image_id]].append(_xyxy(_field(ann, "bbox", where), where))
            label = class_of[category] if self.box_labels == "index" else category
            labels[position[image_id]].append(label)
        return (
            [np.array(b, dtype=np.float32).reshape(-1, 4) for b in boxes],
            [np.array(lab, dtype=np.int64) for lab in labels],
        )

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
            num_classes=self.num_classes,
        )

    @property
    def num_classes(self) -> int:
        """Labels lie in ``0..num_classes-1``: the class count, or the largest category id + 1
        with ``box_labels="category_id"`` (91 for COCO 2017, as torchvision's models count)."""
        if self.box_labels == "index":
            return len(self.classes)
        return max(self.category_ids) + 1

    # -- SampleSource --------------------------------------------------------------------------
    def read_bytes(self, index: int) -> np.ndarray:
        return read_file(self._files, index)

    def label(self, index: int) -> int:
        return -1  # detection samples have no image-level class

    def path(self, index: int) -> str:
        return self._files[index]

    def fingerprint(self) -> str:
        return self._digest


def _load_json(raw: bytes, name: str) -> dict[str, Any]:
    try:
        data = json.loads(raw)
    except UnicodeDecodeError as exc:  # json detects UTF-8/16/32; anything else is refused
        got = f"bytes that are not UTF-8 at byte {exc.start + 1}"
        raise DatasetError(f"{name}: expected COCO JSON, got {got}") from None
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, > 4300 digits, nesting
        got = f"invalid JSON ({str(exc)[:200]})"
        raise DatasetError(f"{name}: expected COCO JSON, got {got}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{name}: expected an object at the top, got {type(data).__name__}")
    return data


def _categories(data: dict[str, Any], name: str) -> tuple[list[int], list[str]]:
    """Sorted category ids (< 2**63: they may be yielded as int64 labels) and their names."""
    names: dict[int, str] = {}
    for i, record in enumerate(_records(data, "categories", name)):
        where = f"{name} categories[{i}]"
        cat = _int_field(record, "id", where)
        if cat < 0 or cat >= 2**63:
            raise DatasetError(f"{where}.id: expected an id >= 0 and < 2**63, got {cat}")
        if cat in names:
            raise DatasetError(f"{where}.id: expected a unique id, got {cat} again")
        names[cat] = str(record.get("name", cat))
    ids = sorted(names)
    return ids, [names[i] for i in ids]


def _images(data: dict[str, Any], name: str) -> dict[int, dict[str, Any]]:
    images_by_id: dict[int, dict[str, Any]] = {}
    for i, record in enumerate(_records(data, "images", name)):
        where = f"{name} images[{i}]"
        image_id = _int_field(record, "id", where)
        if image_id in images_by_id:
            raise DatasetError(f"{where}.id: expected a unique id, got {image_id} again")
        _field(record, "file_name", where)
        images_by_id[image_id] = record
    return images_by_id


def _xyxy(bbox: Any, where: str) -> list[float]:
    if (
        not isinstance(bbox, list)
        or len(bbox) != 4
        or not all(
            isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
            for v in bbox
        )
        or bbox[2] < 0
        or bbox[3] < 0
    ):
        raise DatasetError(
            f"{where}.bbox: expected [x, y, width, height] with width, height >= 0, got {bbox!r}"
        )
    x, y, w, h = (float(v) for v in bbox)
    box = [x, y, x + w, y + h]
    if not all(math.isfinite(v) and abs(v) <= _FLOAT32_MAX for v in box):
        raise DatasetError(f"{where}.bbox: expected coordinates within float32, got {bbox!r}")
    return box


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


def _int_field(record: dict[str, Any], key: str, where: str) -> int:
    """An id: a JSON integer (``1.0``, ``"1"`` and ``true`` are refused, not coerced)."""
    value = _field(record, key, where)
    if type(value) is not int:
        raise DatasetError(f"{where}.{key}: expected an integer id, got {value!r}")
    return value
