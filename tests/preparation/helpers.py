"""Small generated datasets for the prepare tests, and readers of an output folder."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import numpy as np
from PIL import Image

from dali_pipelines.data.prepared_format import ShardIndex
from tests.conftest import smooth_image


def encode(array: np.ndarray, fmt: str = "JPEG", **save: object) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(
        buffer, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}) | save
    )
    return buffer.getvalue()


def write_folder(
    root: Path,
    sizes: list[tuple[int, int]],
    *,
    classes: int = 2,
    seed: int = 0,
    fmt: str = "JPEG",
) -> Path:
    """An ImageFolder: image ``i`` (height, width) = ``sizes[i]`` in class ``i % classes``."""
    rng = np.random.default_rng(seed)
    suffix = {"JPEG": "jpg", "PNG": "png"}[fmt]
    for i, (height, width) in enumerate(sizes):
        folder = root / f"class{i % classes}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{i:03d}.{suffix}").write_bytes(encode(smooth_image(rng, height, width), fmt))
    return root


def files(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by its relative path."""
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def indexes(out: Path) -> list[ShardIndex]:
    return [
        ShardIndex.model_validate(json.loads(p.read_text()))
        for p in sorted((out / "shards").glob("*.index.json"))
    ]


def stored_images(out: Path, column: str = "images") -> list[tuple[str, bytes]]:
    """(path, stored bytes) of every sample of ``out`` in order, read through the index."""
    found = []
    for index in indexes(out):
        data = (out / "shards" / index.shard).read_bytes()
        images = index.images[column]
        for path, offset, size in zip(index.paths, images.offset, images.size):
            found.append((path, data[offset : offset + size]))
    return found


def tar_members(path: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(path) as tar:
        return tar.getmembers()
