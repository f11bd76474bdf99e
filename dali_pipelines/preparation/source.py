"""What ``prepare`` reads: a dataset (or a path opened as one) bound to a spec's source layout.

A path opens as the loader's datasets do: a folder is an :class:`~..data.ImageFolder` (a
:class:`~..data.Coco` images folder with ``annotations``), a ``.csv``/``.jsonl`` file a
:class:`~..data.Manifest`, a ``.tar`` file or a brace/glob pattern a
:class:`~..data.WebDataset`; a URL (``s3://bucket/train.csv``, ``s3://bucket/shard-{0..9}.tar``)
the same by its name, read from object storage (docs/storage.md), and recorded in the
prepared manifest with its credentials redacted. Without a spec the layout is the classic
image + label (image + boxes for Coco). Every column the layout binds is carried, keyed by its
dataset column (the image column key, the label column, each feature column, the boxes
column).
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..data.columns import BoundSource, bind_source
from ..data.prepared_format import SourceInfo
from ..data.source import SampleSource
from ..data.storage.urls import is_remote, redact
from ..errors import DatasetError
from ..plan.layout import Layout, make_layout
from ..spec import load_spec
from ..spec.io import SpecLike
from ..spec.source import BoxesOutput, ImageOutput, LabelOutput, SourceSpec

#: The layout of a Coco source without a spec: its image and its boxes.
COCO_SOURCE = SourceSpec(outputs=(ImageOutput(name="image"), BoxesOutput()))
_PATTERN = frozenset("*?[{")
#: Tar members taken as the image of a sample without a spec, in this order of preference.
_IMAGE_MEMBERS = ("jpg", "jpeg", "png", "webp", "bmp", "tif", "tiff", "ppm")
_INDEX = re.compile(r"^[+-]?\d+$")  # a label cell that is a class index (as columns reads it)


@dataclass(frozen=True)
class Bound:
    """A dataset bound for ``prepare``: its readers, layout and what the manifest records."""

    dataset: SampleSource
    bound: BoundSource
    layout: Layout
    info: SourceInfo
    outputs: tuple[dict[str, Any], ...]
    classes: dict[str, tuple[str, ...] | None]
    num_classes: dict[str, int | None]

    @property
    def image_keys(self) -> tuple[str, ...]:
        return tuple(column.key for column in self.layout.images)

    @property
    def feature_columns(self) -> tuple[tuple[str, ...], ...]:
        return tuple(output.columns for output in self.layout.features)


def open_source(source: Any, annotations: str | os.PathLike[str] | None = None) -> Any:
    """``source`` as a dataset: an object with ``bind`` or ``read_bytes`` as it is; a path
    opened by its kind (see the module's docstring)."""
    if not isinstance(source, (str, os.PathLike)):
        if annotations is not None:
            raise DatasetError(
                f"annotations: expected none with a dataset object, got {os.fspath(annotations)}"
            )
        return source
    from ..data import Coco, ImageFolder, Manifest, WebDataset

    text = os.fspath(source)
    path = Path(text)
    if is_remote(text):
        return _open_url(text, annotations)
    if annotations is not None:
        return Coco(annotations, text)
    if path.is_dir():
        return ImageFolder(text)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".jsonl", ".ndjson") and path.is_file():
        return Manifest(text)
    if suffix == ".tar" or any(ch in text for ch in _PATTERN):
        return WebDataset(text)
    got = "no such file or folder" if not path.exists() else f"a {suffix or 'plain'} file"
    raise DatasetError(
        f"source: expected a folder, a .csv/.jsonl manifest, .tar shards or a shard pattern, "
        f"got {text} ({got})"
    )


def _open_url(url: str, annotations: str | os.PathLike[str] | None) -> Any:
    from ..data import Manifest, WebDataset

    if annotations is not None:
        raise DatasetError(f"annotations: expected none with a URL source, got {redact(url)}")
    name = urlsplit(url).path.lower()
    if name.endswith((".csv", ".jsonl", ".ndjson", ".parquet")):
        return Manifest(url)
    if name.endswith(".tar") or any(ch in url for ch in _PATTERN):
        return WebDataset(url)
    raise DatasetError(
        f"source: expected a URL of a .csv/.jsonl/.parquet manifest, .tar shards or a shard "
        f"pattern, got {redact(url)}"
    )


def source_layout(spec: SpecLike | os.PathLike[str] | None, dataset: Any) -> Layout:
    """The layout ``dataset`` is bound to: the spec's, or the default for the dataset."""
    from ..data.coco import Coco
    from ..data.webdataset import WebDataset

    if spec is None:
        source = COCO_SOURCE if isinstance(dataset, Coco) else None
        if isinstance(dataset, WebDataset):
            source = webdataset_source(dataset)
        return make_layout(source, (), fixed=True)
    from ..plan import make_plan

    loaded = load_spec(os.fspath(spec) if isinstance(spec, os.PathLike) else spec)
    if loaded.modality != "image":
        raise DatasetError(
            f"spec: expected an image spec (prepare stores images only for now), got an "
            f"{loaded.modality} spec"
        )
    layout: Layout = make_plan(loaded).layout
    return layout


def webdataset_source(dataset: Any) -> SourceSpec:
    """The default columns of tar shards: the first sample's image member (``jpg``, ``png``,
    ...) as ``images``, and its ``cls`` member as the label when it has one."""
    members: dict[str, Any] = next(
        (shard.samples[0][1] for shard in dataset.shards if shard.samples), {}
    )
    image = next((ext for ext in _IMAGE_MEMBERS if ext in members), None)
    if image is None:
        raise DatasetError(
            f"{dataset.shards[0].path}: expected an image member ({', '.join(_IMAGE_MEMBERS)}) "
            f"in the first sample, got {sorted(members)}; pass a spec naming the columns"
        )
    outputs: list[Any] = [ImageOutput(name="images", column=image)]
    if "cls" in members:
        outputs.append(LabelOutput(column="cls"))
    return SourceSpec(outputs=tuple(outputs))


def bind(
    source: Any,
    spec: SpecLike | os.PathLike[str] | None = None,
    annotations: str | os.PathLike[str] | None = None,
) -> Bound:
    """Open ``source``, bind it to the layout and describe it for the manifest."""
    dataset = open_source(source, annotations)
    layout = source_layout(spec, dataset)
    bound = bind_source(dataset, layout)
    named = isinstance(source, (str, os.PathLike))
    location = redact(os.fspath(source)) if named else repr(dataset)
    info = SourceInfo(
        kind=type(dataset).__name__,
        location=location,
        fingerprint=str(dataset.fingerprint()),
        samples=len(dataset),
    )
    outputs = tuple(output.model_dump(mode="json") for output in layout.source.outputs)
    classes, counts = _class_names(dataset, layout, bound)
    return Bound(dataset, bound, layout, info, outputs, classes, counts)


def _class_names(
    dataset: Any, layout: Layout, bound: BoundSource
) -> tuple[dict[str, tuple[str, ...] | None], dict[str, int | None]]:
    """Per label column (and the boxes column): class names when known, and the class count."""
    classes: dict[str, tuple[str, ...] | None] = {}
    counts: dict[str, int | None] = {}
    source_names: Sequence[Any] | None = getattr(dataset, "classes", None)
    # A dataset without columns (ImageFolder) labels by its own classes; Coco's box labels
    # are indices into its classes unless it yields the file's category ids.
    columnless = not callable(getattr(dataset, "bind", None))
    by_index = getattr(dataset, "box_labels", "index") == "index"
    for position, output in enumerate(layout.labels):
        names = output.classes
        if names is None and position == 0 and columnless and source_names:
            names = tuple(str(name) for name in source_names)
        if names is None:
            names = _names_in_rows(dataset, output.column)
        classes[output.column] = names
        count = len(names) if names is not None else None
        counts[output.column] = bound.num_classes if position == 0 else count
    if layout.boxes is not None:
        names = tuple(str(n) for n in source_names) if source_names and by_index else None
        classes[layout.boxes.column] = names
        counts[layout.boxes.column] = bound.num_classes
    return classes, counts


def _names_in_rows(dataset: Any, column: str) -> tuple[str, ...] | None:
    """The sorted class names of a manifest's label column that holds names (as binding
    resolved them: :func:`~..data.columns.resolve_labels`); ``None`` for indices."""
    from ..data.manifest import Manifest

    if not isinstance(dataset, Manifest):
        return None
    cells = [row.get(column) for row in dataset.rows]
    if not cells or not all(isinstance(c, str) and not _INDEX.match(c) for c in cells):
        return None
    return tuple(sorted({str(c) for c in cells}))
