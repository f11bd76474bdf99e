"""Decoding alone, per image: PIL (the reference), torchvision.io (the tvio baseline), DALI CPU.

The same 64 demo JPEGs (about 500x500 px, quality 75-95), held in memory so the disk is out of
it. PIL and torchvision.io run on one thread (as in one DataLoader worker); DALI decodes the
batch with ``THREADS`` threads, as the loader runs it. ``extra_info["ms_per_image"]`` makes the
rows comparable: the DALI figure is wall time per image with all its threads.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dali_pipelines import ImageFolder
from dali_pipelines.availability import dali_available
from dali_pipelines.data.pil import decode_pil

IMAGES = 64
THREADS = 2


@pytest.fixture(scope="module")
def encoded(demo_root: Path) -> list[np.ndarray]:
    folder = ImageFolder(demo_root)
    # Writable copies: torch.from_numpy refuses read-only memory (ImageFolder hands out views).
    return [folder.read_bytes(i).copy() for i in range(min(IMAGES, len(folder)))]


def _per_image(benchmark: Any, images: int) -> None:
    benchmark.extra_info["images"] = images
    benchmark.extra_info["ms_per_image"] = 1e3 * benchmark.stats["median"] / images


def test_pil(benchmark: Any, encoded: list[np.ndarray]) -> None:
    def run() -> None:
        for data in encoded:
            decode_pil(data, "rgb")

    benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    _per_image(benchmark, len(encoded))


def test_torchvision_io(benchmark: Any, encoded: list[np.ndarray]) -> None:
    import torch
    from torchvision.io import ImageReadMode, decode_jpeg

    tensors = [torch.from_numpy(data) for data in encoded]

    def run() -> None:
        for data in tensors:
            decode_jpeg(data, mode=ImageReadMode.RGB)

    with warnings.catch_warnings():  # torchvision 0.29 deprecates its decoders per call
        warnings.simplefilter("ignore", DeprecationWarning)
        benchmark.pedantic(run, rounds=5, warmup_rounds=1)
    _per_image(benchmark, len(encoded))


def _dali_pipe(encoded: list[np.ndarray], kind: str) -> Any:
    from nvidia.dali import fn, pipeline_def
    from nvidia.dali.types import DALIImageType

    # A dict: DALI's stubs type device_id as int, but None (CPU only) is what runs here.
    options: dict[str, Any] = dict(
        batch_size=len(encoded), num_threads=THREADS, device_id=None, seed=0
    )

    @pipeline_def(**options)
    def graph() -> Any:
        jpegs = fn.external_source(source=lambda: list(encoded), batch=True)
        decoder = getattr(fn.decoders, kind)
        return decoder(
            jpegs, device="cpu", output_type=DALIImageType.RGB, jpeg_fancy_upsampling=True
        )

    pipe = graph()
    pipe.build()
    return pipe


@pytest.mark.parametrize("kind", ["image", "image_random_crop"])
def test_dali_cpu(benchmark: Any, encoded: list[np.ndarray], kind: str) -> None:
    """``image_random_crop`` decodes only the crop window (what random_resized_crop fuses to)."""
    if not dali_available():
        pytest.skip("DALI cannot be imported here")
    pipe = _dali_pipe(encoded, kind)
    benchmark.pedantic(pipe.run, rounds=5, warmup_rounds=1)
    benchmark.extra_info["threads"] = THREADS
    _per_image(benchmark, len(encoded))
