"""Datasets: where samples live. The spec says how to process them; a dataset says what they are."""

from __future__ import annotations

from .audio_folder import AudioFolder
from .coco import Coco
from .columns import BoundSource
from .encoded import EncodedDataset
from .folder import IMG_EXTENSIONS, ImageFolder
from .manifest import Manifest
from .prepared import Prepared
from .probe import ImageHeader, probe_header
from .source import SampleSource
from .webdataset import WebDataset

__all__ = [
    "IMG_EXTENSIONS",
    "AudioFolder",
    "BoundSource",
    "Coco",
    "EncodedDataset",
    "ImageFolder",
    "ImageHeader",
    "Manifest",
    "Prepared",
    "SampleSource",
    "WebDataset",
    "probe_header",
]
