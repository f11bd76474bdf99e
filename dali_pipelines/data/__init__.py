"""Datasets: where samples live. The spec says how to process them; a dataset says what they are."""

from __future__ import annotations

from .folder import IMG_EXTENSIONS, ImageFolder
from .probe import ImageHeader, probe_header
from .source import SampleSource

__all__ = ["IMG_EXTENSIONS", "ImageFolder", "ImageHeader", "SampleSource", "probe_header"]
