from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from torchvision.datasets import ImageFolder as TorchvisionImageFolder

from dali_pipelines import ImageFolder
from dali_pipelines.data import probe_header
from dali_pipelines.errors import DatasetError


def test_same_samples_and_classes_as_torchvision(jpeg_folder: Path) -> None:
    ours, theirs = ImageFolder(jpeg_folder), TorchvisionImageFolder(str(jpeg_folder))
    assert ours.classes == theirs.classes
    assert ours.class_to_idx == theirs.class_to_idx
    assert ours.samples == theirs.samples
    assert len(ours) == len(theirs) == 21


def test_getitem_like_torchvision(jpeg_folder: Path) -> None:
    image, label = ImageFolder(jpeg_folder, transform=lambda im: im.size)[8]
    assert label == 1 and len(image) == 2


def test_read_bytes_and_fingerprint(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder)
    data = ds.read_bytes(0)
    assert data.dtype == np.uint8 and data[:2].tolist() == [0xFF, 0xD8]
    assert ds.fingerprint() == ImageFolder(jpeg_folder).fingerprint()


def test_errors_name_the_root(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="expected a directory"):
        ImageFolder(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DatasetError, match="found none"):
        ImageFolder(tmp_path)


def test_probe_applies_exif_orientation() -> None:
    image = Image.new("RGB", (40, 20))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90 degrees: displayed as 20 wide, 40 high
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif)
    header = probe_header(buf.getvalue())
    assert header.size == (40, 20) and header.orientation == 6 and header.format == "JPEG"


@pytest.mark.parametrize(
    ("mode", "options"),
    [
        ("RGB", {}),
        ("L", {}),
        ("CMYK", {}),
        ("RGB", {"progressive": True}),
        ("RGB", {"subsampling": 0}),
    ],
)
def test_fast_jpeg_probe_agrees_with_pil(mode: str, options: dict[str, object]) -> None:
    image = Image.new(mode, (37, 23))
    buf = io.BytesIO()
    image.save(buf, format="JPEG", **options)
    header = probe_header(np.frombuffer(buf.getvalue(), dtype=np.uint8))
    assert header.size == (23, 37) and header.mode == mode and header.format == "JPEG"


def test_probe_falls_back_to_pil_for_other_formats() -> None:
    buf = io.BytesIO()
    Image.new("RGBA", (9, 5)).save(buf, format="PNG")
    header = probe_header(buf.getvalue())
    assert header.size == (5, 9) and header.format == "PNG" and header.mode == "RGBA"
    with pytest.raises(Exception, match="cannot identify"):
        probe_header(b"not an image at all")
