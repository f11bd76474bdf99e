"""One image of ``prepare``: checked as ``validate --deep`` checks it, then kept or re-encoded.

An image whose size after EXIF orientation is within the bound keeps its bytes as they are
(after the deep check: a full decode with PIL). A larger one is decoded with PIL (JPEGs at a
reduced DCT scale when ``dct_scaling`` allows and the result keeps ``reducing_gap`` times the
target size),
oriented and converted by the loader's rules, resized with Lanczos and stored as a JPEG. That
decode is the deep check of such a file: its header checks run first, and a PIL error while
decoding gives validate's verdict through :func:`~..data.checks.classify_pil_error`.

With ``raw`` every image is decoded the same way (bounded first when over the bound) and stored
as its pixels, a ``.npy`` member (:mod:`..data.npy`); a stored size over
:data:`~..data.npy.RAW_MAX_PIXELS` stops the run (a setting to change, not a bad file).
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from ..data.checks import PIL_ERRORS, Check, check_bytes, classify_pil_error
from ..data.npy import NPY_EXT, RAW_MAX_PIXELS, to_npy
from ..data.pil import _to_mode, pixel_limit
from ..data.prepared_format import Options

#: File extension of a kept image, by the format ``check_bytes`` found.
EXTENSIONS = {
    "JPEG": "jpg",
    "PNG": "png",
    "WEBP": "webp",
    "BMP": "bmp",
    "TIFF": "tif",
    "PPM": "ppm",
    "JPEG2000": "jp2",
}
_SIXTEEN_BIT = ("I;16", "I;16B", "I;16L", "I")
#: EXIF orientations that swap width and height (transpose, 90/270 degree rotations).
_SWAPPING = frozenset({5, 6, 7, 8})
_ORIENTATION = 0x0112


@dataclass(frozen=True)
class PreparedImage:
    """The stored bytes of one image column of a sample and what the index records of it."""

    data: bytes
    ext: str
    width: int
    height: int
    source_width: int
    source_height: int
    kept: bool
    source_bytes: int


def target_size(width: int, height: int, options: Options) -> tuple[int, int] | None:
    """(width, height) after bounding, or ``None`` when the image is within the bound."""
    if options.max_side is not None:
        bound, side = options.max_side, max(width, height)
    elif options.min_side is not None:
        bound, side = options.min_side, min(width, height)
    else:
        return None
    if side <= bound:
        return None
    scale = bound / side
    return max(1, round(width * scale)), max(1, round(height * scale))


def prepare_image(data: bytes, options: Options) -> PreparedImage | Check:
    """``data`` kept or re-encoded per ``options``; a failed :class:`Check` for a bad file."""
    quick = check_bytes(data, max_pixels=options.max_pixels, deep=False)
    if not quick.ok:
        return quick
    assert quick.width is not None and quick.height is not None and quick.format is not None
    width, height = quick.width, quick.height
    target = target_size(width, height, options)
    if options.raw:
        return _raw(data, quick, target, options)
    if target is None:
        deep = check_bytes(data, max_pixels=options.max_pixels, deep=True)
        if not deep.ok:
            return deep
        ext = EXTENSIONS[quick.format]
        return PreparedImage(data, ext, width, height, width, height, True, len(data))
    try:
        encoded = _reencode(data, target, options)
    except (*PIL_ERRORS, MemoryError) as exc:
        failed = classify_pil_error(exc, quick.format)
        return Check(
            False,
            failed.reason,
            failed.detail,
            failed.decoder,
            quick.format,
            height,
            width,
        )
    return PreparedImage(encoded, "jpg", *target, width, height, False, len(data))


def _raw(
    data: bytes, quick: Check, target: tuple[int, int] | None, options: Options
) -> PreparedImage | Check:
    """``data`` as raw pixels (``npy``), bounded first when ``target`` is set; a failed
    :class:`Check` when PIL cannot decode it. Raises :class:`RawTooLargeError` for a stored
    size over :data:`RAW_MAX_PIXELS` (before decoding)."""
    assert quick.width is not None and quick.height is not None and quick.format is not None
    width, height = quick.width, quick.height
    stored = target or oriented_size(data, width, height)
    if stored[0] * stored[1] > RAW_MAX_PIXELS:
        raise RawTooLargeError(stored)
    try:
        image = _load(data, target, options)
        if target is not None:
            image = image.resize(target, Image.Resampling.LANCZOS)
    except (*PIL_ERRORS, MemoryError) as exc:
        failed = classify_pil_error(exc, quick.format)
        return Check(
            False, failed.reason, failed.detail, failed.decoder, quick.format, height, width
        )
    encoded = to_npy(np.asarray(image))
    return PreparedImage(encoded, NPY_EXT, *image.size, width, height, False, len(data))


class RawTooLargeError(ValueError):
    """An image whose stored size is over the raw bound (the caller names the file)."""

    def __init__(self, size: tuple[int, int]):
        super().__init__(
            f"raw: expected at most {RAW_MAX_PIXELS} pixels per stored image, got "
            f"{size[0]}x{size[1]} (bound the images with --max-side or --min-side)"
        )


def oriented_size(data: bytes, width: int, height: int) -> tuple[int, int]:
    """(width, height) after EXIF orientation (a transposing tag swaps them)."""
    try:
        with Image.open(io.BytesIO(data)) as opened:
            orientation = opened.getexif().get(_ORIENTATION, 1)
    except (*PIL_ERRORS, MemoryError):
        return width, height
    return (height, width) if orientation in _SWAPPING else (width, height)


def _reencode(data: bytes, target: tuple[int, int], options: Options) -> bytes:
    resized = _load(data, target, options).resize(target, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    resized.save(out, "JPEG", quality=options.quality, subsampling="4:2:0", optimize=False)
    return out.getvalue()


def _load(data: bytes, target: tuple[int, int] | None, options: Options) -> Image.Image:
    """``data`` decoded (at a reduced DCT scale when ``target`` allows), oriented and in the
    loader's mode."""
    with pixel_limit(options.max_pixels), Image.open(io.BytesIO(data)) as opened:
        if target is not None and options.dct_scaling and opened.format == "JPEG":
            orientation = opened.getexif().get(_ORIENTATION, 1)
            stored = target[::-1] if orientation in _SWAPPING else target
            gap = options.reducing_gap  # libjpeg's scaled IDCT aliases: leave Lanczos a margin
            opened.draft(opened.mode, (math.ceil(stored[0] * gap), math.ceil(stored[1] * gap)))
        opened.load()
        return loader_mode(opened)


def loader_mode(image: Image.Image) -> Image.Image:
    """``image`` oriented by its EXIF tag and converted as the loader converts: L stays L,
    16-bit images become 8-bit L (divided by 257), everything else RGB."""
    if image.mode in _SIXTEEN_BIT:
        return _to_mode(image, "grayscale")
    oriented = ImageOps.exif_transpose(image)
    return oriented if oriented.mode == "L" else oriented.convert("RGB")
