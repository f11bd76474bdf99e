from __future__ import annotations

import io
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.datasets import DatasetFolder
from torchvision.datasets import ImageFolder as TorchvisionImageFolder
from torchvision.datasets.folder import default_loader
from torchvision.transforms import v2

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.data import probe_header
from dali_pipelines.data.folder import TorchvisionFolder
from dali_pipelines.errors import DatasetError, LoaderConfigError, MissingFilesError


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
    with pytest.raises(MissingFilesError, match="expected a directory"):
        ImageFolder(tmp_path / "missing")
    with pytest.raises(MissingFilesError, match="expected class sub-folders"):
        ImageFolder(tmp_path)
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(DatasetError, match="found none"):
        ImageFolder(tmp_path)


def test_an_empty_class_folder_is_refused_like_torchvision(
    jpeg_folder: Path, tmp_path: Path
) -> None:
    root = tmp_path / "root"
    shutil.copytree(jpeg_folder, root)
    (root / "class_9").mkdir()
    with pytest.raises(FileNotFoundError, match="Found no valid file for the classes class_9"):
        TorchvisionImageFolder(str(root))
    with pytest.raises(
        MissingFilesError, match=r"found none in .*class_9 \(allow_empty=True"
    ) as info:
        ImageFolder(root)
    assert isinstance(info.value, FileNotFoundError) and isinstance(info.value, DatasetError)
    assert str(root / "class_9") in str(info.value)
    ours = ImageFolder(root, allow_empty=True)
    theirs = TorchvisionImageFolder(str(root), allow_empty=True)
    assert ours.samples == theirs.samples and ours.classes == theirs.classes == [
        "class_0", "class_1", "class_2", "class_9"
    ]  # fmt: skip


def test_transforms_must_be_callable(jpeg_folder: Path) -> None:
    with pytest.raises(DatasetError, match=r"^transform: expected a callable, got 3$"):
        ImageFolder(jpeg_folder, transform=3)  # type: ignore[arg-type]
    with pytest.raises(DatasetError, match=r"^target_transform: expected a callable, got 'x'$"):
        ImageFolder(jpeg_folder, target_transform="x")  # type: ignore[arg-type]


def test_target_transform_is_applied_once_per_sample(jpeg_folder: Path) -> None:
    calls: list[int] = []

    def reverse(target: int) -> int:
        calls.append(target)
        return 2 - target

    ds = ImageFolder(jpeg_folder, target_transform=reverse)
    assert len(calls) == len(ds) == 21  # at construction, never again
    assert [ds.label(i) for i in range(len(ds))] == [2 - t for t in ds.targets]
    assert ds.targets == TorchvisionImageFolder(str(jpeg_folder)).targets  # untransformed
    assert ds[0][1] == 2 and len(calls) == 21
    with pytest.raises(DatasetError, match=r"target_transform: expected a class index in \[0, 3\)"):
        ImageFolder(jpeg_folder, target_transform=lambda t: t + 1)
    with pytest.raises(DatasetError, match=r"for sample 0 \(.*000\.jpg\), got tensor"):
        ImageFolder(jpeg_folder, target_transform=lambda t: torch.eye(3)[t])


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


# -- torchvision's own folders as the loader's dataset ----------------------------------------
TRAIN = v2.Compose(
    [
        v2.RandomResizedCrop(24, antialias=True),
        v2.RandomHorizontalFlip(),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
    ]
)


@pytest.mark.integration
def test_a_torchvision_image_folder_drops_in(jpeg_folder: Path) -> None:
    theirs = TorchvisionImageFolder(str(jpeg_folder), transform=TRAIN)
    with DataLoader(theirs, batch_size=4, shuffle=True, num_workers=2, seed=3) as loader:
        source = loader.dataset
        assert isinstance(source, TorchvisionFolder) and source.dataset is theirs
        assert source.samples == theirs.samples and source.classes == theirs.classes
        assert source.class_to_idx == theirs.class_to_idx
        batches = [(x.clone(), y.clone()) for x, y in loader]
        order = [int(i) for batch in loader._order.batches(0) for i in batch]
    labels = torch.cat([y for _, y in batches]).tolist()
    assert labels == [theirs.targets[i] for i in order]  # each sample keeps torchvision's label
    assert sorted(labels) == sorted(theirs.targets)
    assert batches[0][0].shape[1:] == theirs[0][0].shape == (3, 24, 24)
    # Our ImageFolder of the same root and transform: the same batches, bit for bit.
    ours = ImageFolder(jpeg_folder, transform=TRAIN)
    with DataLoader(ours, batch_size=4, shuffle=True, num_workers=2, seed=3) as same:
        again = [(x.clone(), y.clone()) for x, y in same]
    for (xa, ya), (xb, yb) in zip(batches, again, strict=True):
        assert torch.equal(ya, yb) and torch.equal(xa, xb)


def test_any_dataset_folder_and_its_target_transform(jpeg_folder: Path) -> None:
    folder = DatasetFolder(
        str(jpeg_folder),
        loader=default_loader,
        extensions=(".jpg",),
        transform=v2.Compose([v2.CenterCrop(16), v2.ToImage()]),
        target_transform=lambda t: 2 - t,
    )
    with DataLoader(folder, batch_size=7, backend="reference", num_workers=0) as loader:
        labels = torch.cat([y for _, y in loader]).tolist()
    assert labels == [2 - t for t in folder.targets]
    assert labels == [folder[i][1] for i in range(len(folder))]  # what torchvision returns


def test_torchvision_folders_the_loader_cannot_read_are_refused(jpeg_folder: Path) -> None:
    def npy_loader(path: str) -> Any:
        return path

    custom = DatasetFolder(str(jpeg_folder), loader=npy_loader, extensions=(".jpg",))
    with pytest.raises(LoaderConfigError, match=r"dataset\.loader: expected torchvision's"):
        DataLoader(custom, batch_size=2)

    class Cropped(TorchvisionImageFolder):
        def __getitem__(self, index: int) -> tuple[Any, Any]:
            return super().__getitem__(index)

    with pytest.raises(LoaderConfigError, match="got Cropped overriding it"):
        DataLoader(Cropped(str(jpeg_folder)), batch_size=2)
    bad = TorchvisionImageFolder(str(jpeg_folder), transform=3)
    with pytest.raises(DatasetError, match=r"^transform: expected a callable, got 3$"):
        DataLoader(bad, batch_size=2)


def test_the_package_root_exports_the_drop_in_names() -> None:
    import dali_pipelines

    for name in ("from_torchvision", "ImageFolder", "Manifest", "WebDataset", "Coco"):
        assert callable(getattr(dali_pipelines, name)), name
    assert dali_pipelines.EncodedDataset.__name__ == "EncodedDataset"
    assert dali_pipelines.LoaderConfigError is LoaderConfigError
    assert dali_pipelines.MissingFilesError is MissingFilesError
