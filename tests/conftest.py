"""Shared fixtures: small generated JPEG ImageFolders (never downloaded)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dali_pipelines.availability import cuda_available


def smooth_image(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Gradients plus mild noise: compresses like a photo, unlike pure noise."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    base = np.stack(
        [
            x / width * 255,
            y / height * 255,
            (np.sin(x / 7.0) + np.cos(y / 5.0) + 2) * 60,
        ],
        axis=-1,
    )
    base += rng.normal(0, 6, size=base.shape)
    return base.clip(0, 255).astype(np.uint8)


def write_image_folder(
    root: Path,
    *,
    classes: int = 3,
    per_class: int = 7,
    seed: int = 0,
    min_side: int = 48,
    max_side: int = 96,
) -> Path:
    rng = np.random.default_rng(seed)
    for c in range(classes):
        folder = root / f"class_{c}"
        folder.mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            h, w = (int(v) for v in rng.integers(min_side, max_side + 1, size=2))
            Image.fromarray(smooth_image(rng, h, w)).save(folder / f"{i:03d}.jpg", quality=90)
    return root


@pytest.fixture(scope="session")
def jpeg_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 classes x 7 JPEGs of 48-96 px (21 samples: uneven against most batch sizes)."""
    return write_image_folder(tmp_path_factory.mktemp("jpegs"))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if cuda_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device (gpu marker)")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
