"""Class-folder datasets: our ``ImageFolder``; torchvision's ``DatasetFolder`` as a source.

``ImageFolder`` indexes root/class_x/xxx.jpg exactly as ``torchvision.datasets.ImageFolder``
does (class indices, sample order, errors for empty folders). A torchvision ``DatasetFolder``
(``ImageFolder`` included) passed to the loader is read through :class:`TorchvisionFolder`:
its ``samples`` and ``classes`` as they are, its ``transform`` translated by the loader.
"""

from __future__ import annotations

import hashlib
import operator
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError, LoaderConfigError, MissingFilesError
from .read import DEFAULT_MAX_FILE_BYTES, check_limit, read_regular
from .source import SampleSource

# torchvision's list, so the same root yields the same samples.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp")


def find_class_samples(
    root: Path, extensions: Sequence[str], allow_empty: bool, owner: str
) -> tuple[list[str], list[tuple[str, int]]]:
    """Classes and (path, class index) samples of a class-folder tree, as torchvision finds them.

    Classes are the sorted sub-folder names; files ending in ``extensions`` (any case) are walked
    in sorted order per class, links followed. A missing root, a root without class folders and
    (unless ``allow_empty``) a class folder without such files raise
    :class:`~dali_pipelines.errors.MissingFilesError` naming the folder; ``owner`` names the
    dataset in messages.
    """
    if not root.is_dir():
        raise MissingFilesError(f"{owner}.root: expected a directory, got {str(root)!r}")
    classes = sorted(e.name for e in os.scandir(root) if e.is_dir())
    if not classes:
        raise MissingFilesError(f"{owner}.root: expected class sub-folders in {root}, found none")
    lowered = tuple(e.lower() for e in extensions)
    samples: list[tuple[str, int]] = []
    empty = []
    for index, name in enumerate(classes):
        count = len(samples)
        for dirpath, _, fnames in sorted(os.walk(root / name, followlinks=True)):
            for fname in sorted(fnames):
                if fname.lower().endswith(lowered):
                    samples.append((os.path.join(dirpath, fname), index))
        if len(samples) == count:
            empty.append(str(root / name))
    if empty and (not allow_empty or not samples):
        raise MissingFilesError(
            f"{owner}: expected files ending in {', '.join(extensions)} in every class "
            f"folder, found none in {', '.join(empty)}"
            + (" (allow_empty=True keeps empty classes)" if samples else "")
        )
    return classes, samples


class FolderSamples:
    """(path, class index) samples with torchvision's attributes, read as encoded files.

    ``transform`` is kept for the drop-in path (the loader translates it; ``__getitem__``
    applies it as torchvision does). ``target_transform`` is applied once per sample here, at
    construction: it must map a class index to a class index (``label`` returns the result,
    ``targets`` keep torchvision's untransformed values).

    Files are read with :func:`~.read.read_regular`: a FIFO, a device or a link to one, and a
    file over ``max_file_bytes`` (default 256 MiB; ``None``: no bound) are bad samples with
    the reason, raised or skipped by the loader's ``on_error``.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        samples: Sequence[tuple[str, int]],
        classes: Sequence[str],
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        *,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    ):
        self.max_file_bytes = check_limit(max_file_bytes, f"{type(self).__name__}.max_file_bytes")
        for name, value in (("transform", transform), ("target_transform", target_transform)):
            if value is not None and not callable(value):
                raise DatasetError(f"{name}: expected a callable, got {value!r}")
        self.root = Path(root)
        self.transform = transform
        self.target_transform = target_transform
        self.classes = list(classes)
        self.class_to_idx = {name: i for i, name in enumerate(self.classes)}
        self.samples = list(samples)
        self.targets = [target for _, target in self.samples]
        self._labels = self.targets
        if target_transform is not None:
            self._labels = [self._class_index(i, target_transform) for i in range(len(self))]

    def _class_index(self, index: int, target_transform: Callable[[Any], Any]) -> int:
        path, target = self.samples[index]
        value = target_transform(target)
        try:
            label = None if isinstance(value, bool) else operator.index(value)
        except TypeError:
            label = None
        if label is None or not 0 <= label < len(self.classes):
            raise DatasetError(
                f"target_transform: expected a class index in [0, {len(self.classes)}) for "
                f"sample {index} ({path}), got {value!r}"
            )
        return label

    def __len__(self) -> int:
        return len(self.samples)

    def __repr__(self) -> str:
        root = str(self.root)
        name = type(self).__name__
        return f"{name}(root={root!r}, samples={len(self)}, classes={len(self.classes)})"

    # -- SampleSource --------------------------------------------------------------------------
    def read_bytes(self, index: int) -> np.ndarray:
        return read_regular(self.samples[index][0], self.max_file_bytes)

    def label(self, index: int) -> int:
        return self._labels[index]

    def path(self, index: int) -> str:
        return self.samples[index][0]

    def fingerprint(self) -> str:
        digest = hashlib.sha256()
        for path, label in zip((p for p, _ in self.samples), self._labels):
            digest.update(f"{os.path.relpath(path, self.root)}\0{label}\n".encode())
        return digest.hexdigest()[:16]

    # -- torchvision compatibility ------------------------------------------------------------
    def __getitem__(self, index: int) -> tuple[Any, int]:
        """(PIL image or transformed image, label), like torchvision's ImageFolder."""
        from .pil import load_pil

        image = load_pil(self.samples[index][0], "rgb", max_file_bytes=self.max_file_bytes)
        if self.transform is not None:
            image = self.transform(image)
        return image, self._labels[index]


class ImageFolder(FolderSamples):
    """A folder of class sub-folders, indexed exactly as ``torchvision.datasets.ImageFolder``.

    Classes are the sorted sub-folder names; samples are walked in sorted order per class, so
    ``samples``, ``targets`` and ``class_to_idx`` equal torchvision's for the same root. Like
    torchvision, a missing root, a root without class folders and (unless ``allow_empty``) a
    class folder without images raise :class:`~dali_pipelines.errors.MissingFilesError` (a
    ``FileNotFoundError``) naming the folder. ``max_file_bytes``: see :class:`FolderSamples`.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        transform: Callable[[Any], Any] | None = None,
        target_transform: Callable[[Any], Any] | None = None,
        *,
        extensions: tuple[str, ...] = IMG_EXTENSIONS,
        allow_empty: bool = False,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    ):
        root = Path(root).expanduser()
        classes, samples = find_class_samples(root, extensions, allow_empty, "ImageFolder")
        super().__init__(
            root, samples, classes, transform, target_transform, max_file_bytes=max_file_bytes
        )


class TorchvisionFolder(FolderSamples):
    """A ``torchvision.datasets.DatasetFolder`` (or ``ImageFolder``) as the loader's source.

    Its ``samples``, ``classes`` and ``transform`` are used as they are; its files are read as
    encoded bytes and decoded by the loader, so its ``loader`` must be torchvision's image
    loader and ``__getitem__`` torchvision's own (anything else: :class:`EncodedDataset`).
    ``target_transform`` is applied once per sample (see :class:`FolderSamples`).
    """

    def __init__(self, dataset: Any):
        from torchvision.datasets import folder

        name = type(dataset).__name__
        standard = (folder.default_loader, folder.pil_loader, folder.accimage_loader)
        loader = getattr(dataset, "loader", None)
        if loader not in standard:
            raise LoaderConfigError(
                f"dataset.loader: expected torchvision's default_loader (files the loader "
                f"decodes), got {loader!r}; wrap a dataset returning encoded bytes in "
                "EncodedDataset"
            )
        if type(dataset).__getitem__ is not folder.DatasetFolder.__getitem__:
            raise LoaderConfigError(
                f"dataset: expected torchvision's DatasetFolder.__getitem__, got {name} "
                "overriding it; wrap a dataset returning encoded bytes in EncodedDataset"
            )
        self.dataset = dataset
        super().__init__(
            dataset.root,
            dataset.samples,
            dataset.classes,
            dataset.transform,
            dataset.target_transform,
        )
        self.class_to_idx = dict(dataset.class_to_idx)  # a find_classes override may differ


def as_sample_source(dataset: Any) -> SampleSource:
    """What the loader reads: ``dataset`` itself, or a torchvision folder as a source."""
    if isinstance(dataset, SampleSource):
        return dataset
    import torchvision.datasets

    if isinstance(dataset, torchvision.datasets.DatasetFolder):
        return TorchvisionFolder(dataset)
    raise LoaderConfigError(
        "dataset: expected an ImageFolder, Manifest, WebDataset, Coco, EncodedDataset, a "
        f"torchvision DatasetFolder or another SampleSource, got {type(dataset).__name__} "
        "(a torch Dataset returning encoded image bytes: EncodedDataset(dataset))"
    )
