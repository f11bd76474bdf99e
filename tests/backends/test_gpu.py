"""GPU paths: "mixed" decode, ops on the GPU, outputs on cuda:LOCAL_RANK (skipped without CUDA)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder

pytestmark = [pytest.mark.gpu, pytest.mark.integration]

DETERMINISTIC = {
    "ops": [
        {"op": "resize", "size": 40},
        {"op": "center_crop", "size": 32},
        {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
    ]
}


def _first(root: Path, spec: object, device: str) -> tuple[torch.Tensor, torch.Tensor]:
    with DataLoader(ImageFolder(root), spec, batch_size=4, device=device) as loader:  # type: ignore[arg-type]
        return next(iter(loader))


def test_gpu_matches_cpu_within_decoder_tolerance(jpeg_folder: Path) -> None:
    gpu_images, gpu_labels = _first(jpeg_folder, DETERMINISTIC, "gpu")
    cpu_images, cpu_labels = _first(jpeg_folder, DETERMINISTIC, "cpu")
    assert gpu_images.is_cuda and gpu_labels.is_cuda
    assert torch.equal(gpu_labels.cpu(), cpu_labels)
    # nvJPEG and libjpeg-turbo differ by a few levels (IDCT, upsampling): <= 6/255 after resize.
    diff = (gpu_images.cpu() - cpu_images).abs()
    assert diff.max().item() <= 6 / 255 / 0.25 and diff.mean().item() < 1.5 / 255 / 0.25


def test_random_ops_on_gpu_are_deterministic(jpeg_folder: Path) -> None:
    first = _first(jpeg_folder, "imagenet_train", "gpu")
    second = _first(jpeg_folder, "imagenet_train", "gpu")
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert first[0].shape == (4, 3, 224, 224) and first[0].device == torch.device("cuda", 0)


def test_reference_backend_moves_batches_to_the_gpu(jpeg_folder: Path) -> None:
    with DataLoader(
        ImageFolder(jpeg_folder), DETERMINISTIC, batch_size=4, device="gpu", backend="reference"
    ) as loader:
        images, labels = next(iter(loader))
    assert images.is_cuda and labels.is_cuda
