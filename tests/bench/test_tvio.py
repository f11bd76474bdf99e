"""The torchvision.io baseline does the reference's work, only the decoder differs."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dali_pipelines import DataLoader, ImageFolder, load_spec
from dali_pipelines.data.pil import decode_pil
from dali_pipelines.data.tvio import decode_tvio


def _encode(image: Image.Image, fmt: str, **kwargs: object) -> np.ndarray:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **kwargs)
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)  # read-only, like ImageFolder's


def _pil_tensor(data: np.ndarray, color: str) -> torch.Tensor:
    array = np.asarray(decode_pil(data, color))  # type: ignore[arg-type]
    return torch.from_numpy(array.reshape(*array.shape[:2], -1).copy()).permute(2, 0, 1)


@pytest.mark.parametrize("color", ["rgb", "grayscale"])
def test_decode_matches_pil_with_exif_orientation(color: str) -> None:
    y, x = np.mgrid[0:24, 0:40]
    pixels = np.stack([x * 6, y * 10, (x + y) * 4], axis=-1).astype(np.uint8)
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    jpeg = _encode(image, "JPEG", quality=90, exif=exif.tobytes())
    decoded = decode_tvio(jpeg, color)
    assert decoded.shape == (3 if color == "rgb" else 1, 40, 24)
    diff = (decoded.int() - _pil_tensor(jpeg, color).int()).abs()
    if color == "rgb":  # both are libjpeg-turbo with the same upsampling
        assert diff.max() == 0
    else:  # libjpeg's luma channel vs PIL's RGB->L of the decoded pixels
        assert diff.float().mean() < 1 and diff.max() <= 4
    png = _encode(image, "PNG")
    assert torch.equal(decode_tvio(png, "rgb"), _pil_tensor(png, "rgb"))


def test_batches_equal_the_reference_loader(jpeg_folder: Path) -> None:
    dataset = ImageFolder(jpeg_folder)
    spec = load_spec("imagenet_val")
    loaders = [
        DataLoader(dataset, spec, batch_size=8, shuffle=True, seed=3, num_workers=0, backend=b)
        for b in ("reference-tvio", "reference")
    ]
    tvio, reference = loaders
    assert len(tvio) == len(reference) == 3
    for epoch in (0, 1):
        tvio.set_epoch(epoch)
        reference.set_epoch(epoch)
        pairs = list(zip(tvio, reference, strict=True))
        for (images, labels), (ref_images, ref_labels) in pairs:
            assert labels.dtype == torch.int64 and torch.equal(labels, ref_labels)
            assert images.shape == ref_images.shape == (images.shape[0], 3, 224, 224)
            assert (images - ref_images).abs().max() < 0.05
    for loader in loaders:
        loader.close()


def test_persistent_workers_and_output_layout(jpeg_folder: Path) -> None:
    spec = load_spec(
        {"ops": [{"op": "center_crop", "size": [16, 16]}], "output": {"layout": "HWC"}}
    )
    with DataLoader(
        ImageFolder(jpeg_folder), spec, batch_size=16, drop_last=True, num_threads=1,
        backend="reference-tvio",
    ) as tvio:  # fmt: skip
        for _ in range(2):
            batches = list(tvio)
            assert [b[0].shape for b in batches] == [(16, 16, 16, 3)]
