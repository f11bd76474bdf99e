"""The reference decoder: PIL with EXIF orientation applied, as DALI's decoder does."""

from __future__ import annotations

import io
from typing import Literal

import numpy as np
from PIL import Image, ImageOps


def _to_mode(image: Image.Image, color: Literal["rgb", "grayscale"]) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit files: scale to 8 bits by dividing by 257 (65535 -> 255), as DALI does, rather
        # than PIL's default clipping conversion.
        arr = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray(((arr + 128) // 257).clip(0, 255).astype(np.uint8), mode="L")
    return image.convert("RGB" if color == "rgb" else "L")


def load_pil(path: str, color: Literal["rgb", "grayscale"] = "rgb") -> Image.Image:
    """Open, orient and convert an image file the way the DALI backend decodes it."""
    with Image.open(path) as image:
        image.load()
        return _to_mode(image, color)


def decode_pil(data: bytes | np.ndarray, color: Literal["rgb", "grayscale"] = "rgb") -> Image.Image:
    """Same as :func:`load_pil` for bytes already in memory."""
    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    with Image.open(io.BytesIO(raw)) as image:
        image.load()
        return _to_mode(image, color)
