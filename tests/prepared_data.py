"""Prepared folders built by hand from the format's models (no ``prepare`` run), and helpers to
damage one: the reader's unit tests use them to pin the format independently of the writer."""

from __future__ import annotations

import io
import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dali_pipelines.data.prepared_format import (
    MANIFEST_NAME,
    SHARDS_DIR,
    BoxesIndex,
    ImageColumnIndex,
    Options,
    PreparedManifest,
    ShardEntry,
    ShardIndex,
    SourceInfo,
    file_sha256,
    index_name,
    member_name,
    sample_key,
    shard_name,
)
from tests.conftest import smooth_image
from tests.sources_data import jpeg_bytes


@dataclass
class Sample:
    images: dict[str, bytes]
    sizes: dict[str, tuple[int, int]]  # (height, width)
    label: int
    features: dict[str, float] = field(default_factory=dict)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    box_labels: list[int] = field(default_factory=list)


CLASSES = ("cat", "dog", "eel")


def make_samples(count: int, seed: int = 0, columns: tuple[str, ...] = ("image",)) -> list[Sample]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        height, width = 20 + i % 5, 24 + i % 3
        images = {c: jpeg_bytes(smooth_image(rng, height, width)) for c in columns}
        boxes = [(1.0 + j, 2.0, 10.5 + j, 12.25) for j in range(i % 3)]
        out.append(
            Sample(
                images=images,
                sizes=dict.fromkeys(columns, (height, width)),
                label=i % len(CLASSES),
                features={"idx": float(i), "score": i * 0.5 - 1},
                boxes=boxes,
                box_labels=[(i + j) % len(CLASSES) for j in range(len(boxes))],
            )
        )
    return out


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> int:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    info.mode = 0o644
    tar.addfile(info, io.BytesIO(data))
    return tar.offset - (-(-len(data) // 512) * 512)  # data offset of the member just added


def write_prepared(
    root: Path,
    samples: list[Sample],
    per_shard: int = 3,
    *,
    labels: bool = True,
    features: bool = True,
    boxes: bool = True,
    complete: bool = True,
) -> Path:
    """``samples`` as a prepared folder: shards of ``per_shard`` samples, the label column
    ``label`` (names :data:`CLASSES`), features ``idx`` and ``score``, boxes ``boxes``."""
    shards_dir = root / SHARDS_DIR
    shards_dir.mkdir(parents=True, exist_ok=True)
    entries = []
    for number, first in enumerate(range(0, len(samples), per_shard)):
        chunk = list(enumerate(samples[first : first + per_shard], start=first))
        name = shard_name(number)
        path = shards_dir / name
        columns = list(chunk[0][1].images)
        image_fields: dict[str, dict[str, list[Any]]] = {c: {} for c in columns}
        with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
            for index, sample in chunk:
                key = sample_key(index)
                for column, data in sample.images.items():
                    offset = _add(tar, member_name(key, column, "jpg"), data)
                    height, width = sample.sizes[column]
                    values = {
                        "offset": offset,
                        "size": len(data),
                        "ext": "jpg",
                        "width": width,
                        "height": height,
                        "source_width": width,
                        "source_height": height,
                        "kept": True,
                    }
                    for k, v in values.items():
                        image_fields[column].setdefault(k, []).append(v)
                _add(tar, f"{key}.cls", str(sample.label).encode())
                _add(tar, f"{key}.json", json.dumps({"source_index": index}).encode())
        rows, starts, counts, box_labels = [], [], [], []
        for _, sample in chunk:
            starts.append(len(rows))
            counts.append(len(sample.boxes))
            rows += sample.boxes
            box_labels += sample.box_labels
        index_model = ShardIndex(
            shard=name,
            bytes=path.stat().st_size,
            sha256=file_sha256(path),
            keys=tuple(sample_key(i) for i, _ in chunk),
            source_index=tuple(i for i, _ in chunk),
            paths=tuple(f"/original/img/{i}.jpg" for i, _ in chunk),
            images={c: ImageColumnIndex.model_validate(f) for c, f in image_fields.items()},
            labels={"label": tuple(s.label for _, s in chunk)} if labels else {},
            features=(
                {k: tuple(s.features[k] for _, s in chunk) for k in ("idx", "score")}
                if features
                else {}
            ),
            boxes=(
                {
                    "boxes": BoxesIndex(
                        start=tuple(starts),
                        count=tuple(counts),
                        xyxy=tuple(rows),
                        labels=tuple(box_labels),
                    )
                }
                if boxes
                else {}
            ),
        )
        (shards_dir / index_name(name)).write_text(index_model.model_dump_json())
        entries.append(
            ShardEntry(
                name=name,
                samples=len(chunk),
                bytes=index_model.bytes,
                sha256=index_model.sha256,
                first_source_index=first,
            )
        )
    manifest = PreparedManifest(
        complete=complete,
        source=SourceInfo(
            kind="Hand", location="made by hand", fingerprint="f00d", samples=len(samples)
        ),
        options=Options(),
        outputs=({"kind": "image", "name": "image"},),
        classes={"label": CLASSES, "boxes": CLASSES},
        num_classes={"label": len(CLASSES), "boxes": len(CLASSES)},
        shards=tuple(entries),
        next_source_index=len(samples),
    )
    (root / MANIFEST_NAME).write_text(manifest.model_dump_json())
    return root


def edit_json(path: Path, change: Any) -> None:
    """Rewrite the JSON file ``path`` with ``change(data)`` applied (in place)."""
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def member_extent(root: Path, shard: int, member: str) -> tuple[Path, int, int]:
    """(shard path, data offset, size) of ``member`` in shard number ``shard``."""
    path = root / SHARDS_DIR / shard_name(shard)
    with tarfile.open(path) as tar:
        info = tar.getmember(member)
        return path, info.offset_data, info.size


def overwrite_member(path: Path, offset: int, data: bytes) -> None:
    """Replace bytes of a member's data in place: the tar stays valid, its size the same."""
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write(data)
