"""What storing images at a bounded resolution costs in output quality, measured on the crops.

``prepare --max-side N`` re-encodes large images smaller, so the loader's 224-px crops are made
from fewer pixels (and a second JPEG encoding). The cost is measured where a model sees it: the
evaluation recipe (resize the short side to 256, centre-crop 224, as ``imagenet_val`` without
its normalize, so values stay in grey levels 0-255) runs through the DALI loader on the
originals and on the prepared copy, and the crops of the same source images are compared:
mean absolute difference per pixel and channel, and its 99th percentile over the images.
A deterministic recipe is used because a random crop's window depends on the image's size in
whole pixels, so the same draw on two sizes is not the same region.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..data.source import SampleSource
from ..spec import PipelineSpec
from .report import CropDifference

#: The recipe compared: imagenet_val's geometry with a uint8 output.
CROP_SPEC: dict[str, Any] = {
    "name": "crop_quality",
    "ops": [
        {"op": "resize", "size": 256},
        {"op": "center_crop", "size": [224, 224]},
    ],
    "output": {"dtype": "uint8"},
}


def _crops(dataset: SampleSource, batch_size: int, threads: int) -> np.ndarray:
    from ..loader import DataLoader

    loader = DataLoader(
        dataset,
        PipelineSpec.model_validate(CROP_SPEC),
        batch_size=batch_size,
        shuffle=False,
        num_threads=threads,
        device="cpu",
        backend="dali",
    )
    try:
        return np.concatenate([batch[0].numpy() for batch in loader])
    finally:
        loader.close()


def crop_difference(
    originals: SampleSource,
    prepared: SampleSource,
    source_indices: np.ndarray,
    *,
    batch_size: int = 32,
    threads: int = 2,
) -> CropDifference:
    """Compare every prepared image's crop with its original's; ``source_indices[i]`` is the
    original index of prepared sample ``i`` (bad files are absent from the prepared copy)."""
    ours = _crops(prepared, batch_size, threads).astype(np.int16)
    theirs = _crops(originals, batch_size, threads)[np.asarray(source_indices)].astype(np.int16)
    per_image = np.abs(ours - theirs).reshape(len(ours), -1).mean(axis=1)
    return CropDifference(
        recipe="resize 256, center crop 224 (imagenet_val without normalize), DALI CPU",
        images=len(per_image),
        mean_abs=float(per_image.mean()),
        p99_image_mean_abs=float(np.percentile(per_image, 99)),
        max_image_mean_abs=float(per_image.max()),
    )
