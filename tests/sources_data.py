"""Generated data for the source tests: manifests, tar shards, a tiny COCO set."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from tests.conftest import smooth_image


def jpeg_bytes(array: np.ndarray, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def write_manifest(
    root: Path, rows: int = 10, fmt: str = "csv", seed: int = 0, sizes: tuple[int, int] = (40, 56)
) -> Path:
    """``rows`` samples: images ``a`` and ``b`` (the same file), ``c`` (another), features
    ``speed`` and ``score``, and a ``label`` class name (cat/dog/eel)."""
    rng = np.random.default_rng(seed)
    (root / "img").mkdir(parents=True, exist_ok=True)
    records: list[dict[str, Any]] = []
    for i in range(rows):
        height, width = sizes[0] + i % 3, sizes[1] - i % 4
        (root / "img" / f"{i}.jpg").write_bytes(jpeg_bytes(smooth_image(rng, height, width)))
        (root / "img" / f"{i}c.jpg").write_bytes(jpeg_bytes(smooth_image(rng, height, width)))
        records.append(
            {
                "a": f"img/{i}.jpg",
                "b": f"img/{i}.jpg",
                "c": f"img/{i}c.jpg",
                "speed": round(float(rng.uniform(-5, 5)), 6),
                "score": i * 0.1,
                "label": ("cat", "dog", "eel")[i % 3],
            }
        )
    path = root / f"manifest.{fmt}"
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def write_shards(root: Path, sizes: list[int], seed: int = 0) -> list[Path]:
    """Tar shards of ``sizes`` samples: ``<key>.jpg`` and ``<key>.cls`` (the global sample id),
    plus a ``<key>.speed`` number, with a directory member and a README to skip."""
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    sample = 0
    for shard, count in enumerate(sizes):
        path = root / f"shard-{shard:03d}.tar"
        with tarfile.open(path, "w") as tar:
            _add(tar, "README", b"not a sample member")
            for _ in range(count):
                key = f"part/s{sample:05d}"
                image = smooth_image(rng, 24 + sample % 5, 30)
                _add(tar, f"{key}.jpg", jpeg_bytes(image))
                _add(tar, f"{key}.cls", str(sample).encode())
                _add(tar, f"{key}.speed", f"{sample * 0.5}".encode())
                sample += 1
        paths.append(path)
    return paths


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


#: The square of each COCO image: (top, left, side) on a dark background; class "red".
SQUARES = [(10, 50, 20), (30, 8, 16), (4, 4, 24), (40, 60, 18)]


def square_image(top: int, left: int, side: int, size: tuple[int, int] = (64, 96)) -> np.ndarray:
    image = np.full((*size, 3), 20, dtype=np.uint8)
    image[top : top + side, left : left + side] = (230, 30, 30)
    return image


def write_coco(root: Path) -> tuple[Path, Path]:
    """A COCO set whose images each hold one red square, boxed exactly; ids out of order."""
    images_dir = root / "images"
    images_dir.mkdir(parents=True, exist_ok=True)
    images, annotations = [], []
    for k, (top, left, side) in enumerate(SQUARES):
        image_id = 100 - k  # sorted ids reverse the file order
        name = f"im{k}.png"  # lossless: the square's edges stay exact
        Image.fromarray(square_image(top, left, side)).save(images_dir / name)
        images.append({"id": image_id, "file_name": name, "height": 64, "width": 96})
        annotations.append(
            {
                "id": k,
                "image_id": image_id,
                "category_id": 7,
                "bbox": [left, top, side, side],
                "iscrowd": 0,
            }
        )
        crowd = {"id": 50 + k, "image_id": image_id, "category_id": 3, "iscrowd": 1}
        annotations.append({**crowd, "bbox": [0, 0, 5, 5]})  # left out by default
    categories = [{"id": 7, "name": "red"}, {"id": 3, "name": "crowd"}]
    path = root / "instances.json"
    path.write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    return path, images_dir
