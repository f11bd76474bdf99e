"""``max_side="auto"``: the bound chosen by decode planning from the spec and the data.

The spec's chain says, per sample, how many decoded pixels its output needs
(:mod:`..plan.decode_scale`). Over the data's own image sizes (read from the headers of up to
``SIZE_SAMPLES`` images spread over the source) the bound is the smallest longest side at which
``coverage`` of the draws are not magnified: the rest (the smallest random crops) are upsampled
a little, as they would be from any copy stored smaller than the originals.
"""

from __future__ import annotations

import logging
import os

import numpy as np

from ..data.probe import probe_header
from ..errors import DatasetError
from ..plan import make_plan
from ..plan.decode_scale import side_for
from ..spec import load_spec
from ..spec.io import SpecLike
from .source import Bound

log = logging.getLogger(__name__)
#: Images whose headers are read to learn the data's sizes.
SIZE_SAMPLES = 512
#: The smallest bound ``auto`` picks (Options.max_side's own minimum).
MIN_SIDE = 16


def image_sizes(bound: Bound, samples: int = SIZE_SAMPLES) -> list[tuple[int, int]]:
    """(height, width) after EXIF orientation of up to ``samples`` images spread evenly over
    the source's first image column; unreadable headers are left out (prepare reports them)."""
    total = len(bound.dataset)
    picks = np.unique(np.linspace(0, total - 1, min(total, samples)).round().astype(np.int64))
    read = bound.bound.images[0]
    sizes = []
    for index in picks:
        try:
            sizes.append(probe_header(read(int(index))).size)
        except (OSError, ValueError, SyntaxError, EOFError):  # a bad file: prepare lists it
            continue
    return sizes


def planned_max_side(
    bound: Bound, spec: SpecLike | os.PathLike[str] | None, coverage: float
) -> int:
    """The longest side at which ``coverage`` of ``spec``'s draws over the data's image sizes
    keep at least one decoded pixel per output pixel."""
    if spec is None:
        raise DatasetError(
            "max_side: expected a spec with 'auto' (its ops decide the side), got none"
        )
    loaded = load_spec(os.fspath(spec) if isinstance(spec, os.PathLike) else spec)
    sizes = image_sizes(bound)
    if not sizes:
        raise DatasetError("max_side: expected readable image headers for 'auto', got none")
    side = max(MIN_SIDE, side_for(make_plan(loaded), sizes, coverage=coverage))
    log.info(
        "max_side auto: %d px keeps %.0f%% of %s's draws unmagnified over %d image sizes",
        side,
        100 * coverage,
        loaded.name or "the spec",
        len(sizes),
    )
    return side
