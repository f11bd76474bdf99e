"""Read an encoded image's size and orientation from its header, without decoding pixels.

The loader needs each sample's size before DALI decodes it: random crops are drawn in Python
(so augmentations are a pure function of seed, epoch and index) and need the real size. PIL
parses only the header here (~20 us a file measured on this machine).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

# EXIF orientations 5-8 rotate by 90 degrees: the displayed image has width and height swapped.
_TRANSPOSED = frozenset({5, 6, 7, 8})


@dataclass(frozen=True)
class ImageHeader:
    height: int  # after EXIF orientation, as DALI and PIL+exif_transpose deliver it
    width: int
    format: str  # PIL's format name: JPEG, PNG, ...
    mode: str  # PIL's mode: RGB, L, CMYK, I;16, ...
    orientation: int

    @property
    def size(self) -> tuple[int, int]:
        return (self.height, self.width)

    @property
    def pixels(self) -> int:
        return self.height * self.width


def probe_header(data: bytes | np.ndarray) -> ImageHeader:
    """Size/format/mode/orientation of an encoded image; raises PIL's errors if unreadable."""
    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    with Image.open(io.BytesIO(raw)) as im:
        width, height = im.size
        orientation = 1
        if im.format in ("JPEG", "MPO", "TIFF", "WEBP", "PNG"):
            orientation = int(im.getexif().get(0x0112, 1) or 1)
        if orientation in _TRANSPOSED:
            width, height = height, width
        return ImageHeader(height, width, im.format or "unknown", im.mode, orientation)
