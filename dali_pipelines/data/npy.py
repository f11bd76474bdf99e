"""Raw images as ``.npy`` members: written by ``prepare --raw``, read without a decode step.

A raw image is a standard NumPy ``.npy`` file (``numpy.lib.format``, version 1.0): HWC uint8,
C order, no pickle, 1 (L) or 3 (RGB) channels. ``numpy.load`` reads it; the loader parses the
header itself (:func:`parse_npy`) because the member is untrusted data: the dtype, the number
of dimensions, the channels, the pixel count and the data's length are all checked before
the bytes are viewed as an array (a view, no copy).
"""

from __future__ import annotations

import ast
import functools
import io
from typing import Final, Literal

import numpy as np

from ..errors import DatasetError

#: How an image column is stored: encoded bytes (JPEG, PNG, ...) or a raw ``.npy`` array.
Encoding = Literal["encoded", "npy"]
NPY_EXT: Final = "npy"
#: The largest raw image, in pixels (a raw copy of large photos would explode in size; 1 MP
#: is 3 MiB of RGB per image). ``prepare --raw`` refuses larger stored images.
RAW_MAX_PIXELS: Final = 1 << 20
_MAGIC = b"\x93NUMPY"
#: The longest header accepted (numpy writes 64-byte aligned headers; ours are 128 bytes).
_MAX_HEADER = 4096


class NpyError(ValueError):
    """A raw member that is not a usable image: the reason, for the bad-sample report."""


def to_npy(pixels: np.ndarray) -> bytes:
    """``pixels`` (HW or HWC uint8) as the bytes of a ``.npy`` file, always HWC."""
    hwc = pixels[:, :, None] if pixels.ndim == 2 else pixels
    out = io.BytesIO()
    np.lib.format.write_array(
        out, np.ascontiguousarray(hwc, dtype=np.uint8), version=(1, 0), allow_pickle=False
    )
    return out.getvalue()


def parse_npy(data: np.ndarray | bytes, max_pixels: int = RAW_MAX_PIXELS) -> np.ndarray:
    """The HWC uint8 image of a ``.npy`` member, a view of ``data``; :class:`NpyError` says
    what is wrong with it (``field: expected X, got Y``)."""
    buffer = np.frombuffer(data, dtype=np.uint8) if isinstance(data, bytes) else data
    head = bytes(buffer[:12])
    if len(head) < 10 or head[:6] != _MAGIC:
        raise NpyError("npy magic: expected \\x93NUMPY, got something else")
    major = head[6]
    if major == 1:
        length, start = int.from_bytes(head[8:10], "little"), 10
    elif major in (2, 3) and len(head) == 12:
        length, start = int.from_bytes(head[8:12], "little"), 12
    else:
        raise NpyError(f"npy version: expected 1.0, 2.0 or 3.0, got {major}")
    if length > _MAX_HEADER or start + length > len(buffer):
        raise NpyError(f"npy header: expected at most {_MAX_HEADER} bytes, got {length}")
    shape = _shape(bytes(buffer[start : start + length]))
    height, width, channels = shape
    if height * width > max_pixels:
        raise NpyError(f"npy pixels: expected at most {max_pixels}, got {height}x{width}")
    expected = height * width * channels
    if len(buffer) - start - length != expected:
        got = len(buffer) - start - length
        raise NpyError(f"npy data: expected {expected} bytes, got {got}")
    return buffer[start + length :].reshape(shape)


@functools.lru_cache(maxsize=256)
def _shape(header: bytes) -> tuple[int, int, int]:
    """The checked (height, width, channels) of a header's text. Cached by the exact bytes:
    a dataset of one image size parses one header (``literal_eval`` costs ~30 us a call)."""
    try:
        parsed = ast.literal_eval(header.decode("latin1"))
    except (ValueError, SyntaxError, MemoryError, RecursionError) as exc:
        raise NpyError(f"npy header: expected a Python dict literal, got {exc}") from None
    if not isinstance(parsed, dict):
        raise NpyError(f"npy header: expected a dict, got {type(parsed).__name__}")
    descr, fortran, shape = parsed.get("descr"), parsed.get("fortran_order"), parsed.get("shape")
    if descr not in ("|u1", "<u1", ">u1"):
        raise NpyError(f"npy dtype: expected uint8 (|u1), got {descr!r}")
    if fortran is not False:
        raise NpyError(f"npy fortran_order: expected False, got {fortran!r}")
    if not isinstance(shape, tuple) or len(shape) != 3:
        raise NpyError(f"npy shape: expected (height, width, channels), got {shape!r}")
    if not all(isinstance(n, int) and not isinstance(n, bool) and n > 0 for n in shape):
        raise NpyError(f"npy shape: expected positive sizes, got {shape!r}")
    if shape[2] not in (1, 3):
        raise NpyError(f"npy channels: expected 1 or 3, got {shape[2]}")
    return shape


def column_encoding(exts: set[str], where: str) -> Encoding:
    """``npy`` when every member of a column is raw, ``encoded`` when none is."""
    if NPY_EXT not in exts:
        return "encoded"
    if exts == {NPY_EXT}:
        return "npy"
    raise DatasetError(
        f"{where}: expected every image raw (npy) or none, got {sorted(exts)} (prepare again)"
    )


def matches_color(image: np.ndarray, color: Literal["rgb", "grayscale"]) -> np.ndarray:
    """``image`` (HWC, 1 or 3 channels) in the spec's colour, converted exactly as the PIL
    decode converts (``Image.convert``): L -> RGB replicates, RGB -> L is ITU-R 601-2."""
    channels = 3 if color == "rgb" else 1
    if image.shape[2] == channels:
        return image
    from PIL import Image

    source = Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)
    converted = np.asarray(source.convert("RGB" if color == "rgb" else "L"))
    return converted[:, :, None] if converted.ndim == 2 else converted
