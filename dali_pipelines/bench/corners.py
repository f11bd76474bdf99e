"""Four-corner runs: every loader on the originals and on a prepared copy, in one run.

``bench --corners`` answers "what does storing images at a bounded resolution buy, and what does
DALI add on top of it": each loader runs on the original files and on the output of
``dali-pipelines prepare`` (as ``<loader>@prepared``), all interleaved in one run so the ratios
compare figures measured under the same load. The report adds the prepared copy's options and
counts, the ratios of interest and the quality cost on the crops (:mod:`.quality`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from .report import DALI_LOADER, BenchConfig, LoaderResult, PreparedInfo

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..data.prepared import Prepared
    from ..data.source import SampleSource

PREPARED = "@prepared"


def open_prepared(root: str | os.PathLike[str] | None) -> Prepared:
    from ..data.prepared import Prepared

    if root is None:
        raise ValueError("prepared: expected the folder of a prepare run, got none")
    return Prepared(root)


def corner_ratios(loaders: Mapping[str, LoaderResult]) -> dict[str, float]:
    """``dali@prepared`` over every other loader, and each loader's own gain from the copy."""
    ratios: dict[str, float] = {}

    def ratio(a: str, b: str) -> None:
        if a in loaders and b in loaders and loaders[b].images_per_s > 0:
            ratios[f"{a} / {b}"] = loaders[a].images_per_s / loaders[b].images_per_s

    best = DALI_LOADER + PREPARED
    for name in loaders:
        if name != best:
            ratio(best, name)
    for name in loaders:
        if not name.endswith(PREPARED):
            ratio(name + PREPARED, name)
    return ratios


def prepared_info(
    originals: SampleSource,
    prepared: Prepared,
    loaders: Mapping[str, LoaderResult],
    config: BenchConfig,
) -> PreparedInfo:
    """The copy's options and counts, the ratios, and the crops' difference (not timed)."""
    from .quality import crop_difference

    manifest = prepared.manifest
    options, counts = manifest.options, manifest.counts
    difference = crop_difference(
        originals,
        prepared,
        np.asarray(prepared.source_indices()),
        threads=config.threads,
    )
    return PreparedInfo(
        root=str(prepared.root),
        fingerprint=prepared.fingerprint(),
        max_side=options.max_side,
        min_side=options.min_side,
        quality=options.quality,
        images=counts.samples,
        reencoded=counts.reencoded,
        kept=counts.kept,
        bad=counts.bad,
        bytes_in=counts.bytes_in,
        bytes_out=counts.bytes_out,
        ratios=corner_ratios(loaders),
        crop_difference=difference,
    )
