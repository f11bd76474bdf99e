"""The reference decoder: PIL with EXIF orientation applied, as DALI's decoder does.

**PIL's size limit, per call.** PIL refuses images over twice ``Image.MAX_IMAGE_PIXELS``
(``DecompressionBombError``) and warns above it, wherever it meets a size: in ``Image.open``, in
some plugins' frame and tile handling (MPO, TIFF), in ``crop``. Our ``max_pixels`` must replace
that limit in our calls (``None``: no limit at all) without changing it for anyone else in the
process. :func:`pixel_limit` does so for the calls made inside it, on the current thread (a
``ContextVar``): PIL's size check is wrapped once so that it applies the limit set by
:func:`pixel_limit` when one is set, and PIL's own limit, read from ``Image.MAX_IMAGE_PIXELS``
as before, otherwise. ``Image.MAX_IMAGE_PIXELS`` itself is never changed.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, Literal

import numpy as np
from PIL import Image, ImageOps

from ..errors import TooManyPixelsError
from .read import DEFAULT_MAX_FILE_BYTES, read_regular

#: PIL's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``, 89,478,485 = 1024^3 / 4 / 3),
#: the default ``max_pixels`` of the loader and of ``validate``.
DEFAULT_MAX_PIXELS = 89_478_485

#: ``max_pixels`` value meaning "PIL's own limit, whatever ``Image.MAX_IMAGE_PIXELS`` says".
PIL_LIMIT: Literal["pil"] = "pil"
MaxPixels = int | None | Literal["pil"]

# A 1-tuple holding the limit of the calls in a pixel_limit block; None outside any block.
_LIMIT: ContextVar[tuple[int | None] | None] = ContextVar(
    "dali_pipelines_pixel_limit", default=None
)
_INSTALL = threading.Lock()
_installed = False


def _size_check(pil_check: Any) -> Any:
    def check(size: tuple[int, int], *, error_only: bool = False) -> None:
        chosen = _LIMIT.get()
        if chosen is None:  # not our call: PIL's limit and warning, as configured
            if error_only:  # a keyword older Pillows lack: passed only when a caller did
                pil_check(size, error_only=True)
            else:
                pil_check(size)
            return
        (limit,) = chosen
        width, height = max(1, size[0]), max(1, size[1])
        if limit is not None and width * height > limit:
            raise TooManyPixelsError(width, height, limit)

    check.__wrapped__ = pil_check  # type: ignore[attr-defined]
    return check


def _install() -> None:
    global _installed
    with _INSTALL:
        if _installed:
            return
        pil_check = getattr(Image, "_decompression_bomb_check", None)
        if pil_check is not None:  # PIL without the check has no limit to replace
            Image._decompression_bomb_check = _size_check(pil_check)
        _installed = True


@contextmanager
def pixel_limit(max_pixels: MaxPixels) -> Iterator[None]:
    """PIL calls in this block refuse images over ``max_pixels`` with
    :class:`~dali_pipelines.errors.TooManyPixelsError` (``None``: no limit, no warning;
    ``"pil"``: PIL's own limit). Applies to the current thread (context) only."""
    if max_pixels == PIL_LIMIT:
        yield
        return
    if not _installed:
        _install()
    token = _LIMIT.set((max_pixels,))
    try:
        yield
    finally:
        _LIMIT.reset(token)


def _to_mode(image: Image.Image, color: Literal["rgb", "grayscale"]) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit files: scale to 8 bits by dividing by 257 (65535 -> 255), as DALI does, rather
        # than PIL's default clipping conversion.
        arr = np.asarray(image, dtype=np.uint32)
        image = Image.fromarray(((arr + 128) // 257).clip(0, 255).astype(np.uint8), mode="L")
    return image.convert("RGB" if color == "rgb" else "L")


def load_pil(
    path: str,
    color: Literal["rgb", "grayscale"] = "rgb",
    *,
    max_pixels: MaxPixels = PIL_LIMIT,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
) -> Image.Image:
    """Open, orient and convert an image file the way the DALI backend decodes it.

    The file is read with :func:`~.read.read_regular` (regular files only, at most
    ``max_file_bytes``; ``None``: any size); ``max_pixels`` as in :func:`decode_pil`.
    """
    return decode_pil(read_regular(path, max_file_bytes), color, max_pixels=max_pixels)


def decode_pil(
    data: bytes | np.ndarray,
    color: Literal["rgb", "grayscale"] = "rgb",
    *,
    max_pixels: MaxPixels = PIL_LIMIT,
) -> Image.Image:
    """Same as :func:`load_pil` for bytes already in memory.

    ``max_pixels`` replaces PIL's decompression-bomb limit for this call: an int refuses larger
    images with :class:`~dali_pipelines.errors.TooManyPixelsError`, ``None`` decodes any size;
    the default, ``"pil"``, keeps PIL's own limit (``Image.MAX_IMAGE_PIXELS``).
    """
    raw = data.tobytes() if isinstance(data, np.ndarray) else data
    with pixel_limit(max_pixels), Image.open(io.BytesIO(raw)) as image:
        image.load()
        return _to_mode(image, color)
