"""What each benchmark loader is, in one table: the terminal table's notes, the markdown page and
the plot's legend all read it, so they never describe a loader differently.

A loader means something else in an audio run (``reference`` reads with soundfile, not PIL), so
the table has an image and an audio column. A loader added with
:func:`~dali_pipelines.bench.loaders.register_loader` and not listed here is described as such.
"""

from __future__ import annotations

from typing import Literal

from .loaders import (
    BUCKETED_LOADERS,
    DALI_CPU_LOADER,
    TORCHVISION_LOADER,
    TVIO_LOADER,
)
from .report import BASELINE_LOADER, DALI_LOADER, BenchReport

Modality = Literal["image", "audio"]
IDEAL = "ideal"

#: name -> (what it is in an image run, in an audio run); None: the loader reads no such data.
DESCRIPTIONS: dict[str, tuple[str | None, str | None]] = {
    DALI_LOADER: (
        "this package's DataLoader, backend='dali': decode and augmentations in DALI",
        "this package's DataLoader, backend='dali': decode, resampling and features in DALI",
    ),
    DALI_CPU_LOADER: (
        "the same DALI pipeline kept on the CPU (measured when dali runs on the GPU)",
        "the same DALI pipeline kept on the CPU (measured when dali runs on the GPU)",
    ),
    BASELINE_LOADER: (
        "the torch reference backend on the same random draws, PIL decode (the baseline)",
        "the reference audio backend: soundfile + soxr + torch ops in DataLoader workers "
        "(the baseline)",
    ),
    TVIO_LOADER: ("the reference backend decoding with torchvision.io instead of PIL", None),
    TORCHVISION_LOADER: (
        "torch's DataLoader + torchvision v2 transforms on PIL images (torch's own draws)",
        None,
    ),
    BUCKETED_LOADERS[0]: (
        None,
        "dali with length bucketing: batches of similar durations, less padding",
    ),
    BUCKETED_LOADERS[1]: (None, "reference with length bucketing, as dali-bucketed"),
    IDEAL: (
        "the same training steps on batches replayed from memory: the ceiling for any loader",
        "the same training steps on batches replayed from memory: the ceiling for any loader",
    ),
}
UNLISTED = "a loader added with register_loader (no description)"


#: The suffix of a loader measured on the prepared copy (``bench --corners``).
PREPARED = "@prepared"


def describe(name: str, modality: Modality = "image") -> str:
    """One line saying what loader ``name`` is in a run of ``modality``."""
    if name.endswith(PREPARED):
        base = describe(name.removesuffix(PREPARED), modality)
        return f"{base}, on the prepared copy (bounded resolution, `dali-pipelines prepare`)"
    image, audio = DESCRIPTIONS.get(name, (None, None))
    return (audio if modality == "audio" else image) or UNLISTED


def entries(report: BenchReport) -> list[tuple[str, str]]:
    """(``name (device)``, description) for each loader of ``report``, the ideal last."""
    out = [
        (f"{name} ({result.device})", describe(name, report.modality))
        for name, result in report.loaders.items()
    ]
    if report.ideal is not None:
        out.append((IDEAL, describe(IDEAL, report.modality)))
    return out


def lines(report: BenchReport) -> list[str]:
    """``name (device): description``, one line a loader (the terminal and markdown notes)."""
    return [f"{label}: {text}" for label, text in entries(report)]
