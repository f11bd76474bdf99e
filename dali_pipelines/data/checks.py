"""Check one encoded image: signature, header, size, structure, and (deep) a full PIL decode.

These are the per-file checks of ``dali-pipelines validate``; they run in worker threads or
processes, so they take bytes and return a plain :class:`Check`. The quick checks read headers
only, except that a JPEG without its end marker is decoded to decide: whether such a file decodes
depends on where the scan stops (both PIL and DALI's libjpeg-turbo read a few bytes ahead), and
a truncated file is the commonest corruption there is.
"""

from __future__ import annotations

import io
import struct
import typing
from dataclasses import dataclass, replace
from typing import Literal

from PIL import Image, UnidentifiedImageError

from ..errors import TooManyPixelsError
from .pil import DEFAULT_MAX_PIXELS, pixel_limit
from .probe import _SOF_MARKERS, probe_header

#: Why a file is bad. ``decode_failed`` is a file the other checks passed and DALI (or, for
#: audio, soundfile) rejects. The reasons after it are audio's (``validate`` on audio files).
Reason = Literal[
    "empty",
    "unreadable",
    "not_regular_file",
    "too_many_bytes",
    "not_image",
    "unsupported_format",
    "truncated",
    "corrupt",
    "too_many_pixels",
    "decode_failed",
    "not_audio",
    "no_frames",
    "bad_sample_rate",
    "bad_channels",
    "too_long",
]
REASONS: tuple[Reason, ...] = typing.get_args(Reason)
Decoder = Literal["pil", "dali", "soundfile"]

#: What DALI's ``fn.decoders.image`` decodes (nvImageCodec 0.9: measured on DALI 2.4's CPU
#: decoder). GIF, ICO, TGA, PCX, QOI, ... open in PIL but fail in DALI with "nvImageCodec failure".
DALI_FORMATS = frozenset({"JPEG", "PNG", "BMP", "TIFF", "WEBP", "PPM", "JPEG2000"})

_PNG = b"\x89PNG\r\n\x1a\n"
#: Two-byte signatures that text can start with: unreadable ones mean "not an image".
WEAK_SIGNATURES = frozenset({"BMP", "PPM"})


@dataclass(frozen=True)
class Check:
    """The outcome for one file. ``height``/``width`` are after EXIF orientation."""

    ok: bool
    reason: Reason | None = None
    detail: str = ""
    decoder: Decoder | None = None  # which decoder failed, when one did
    format: str | None = None
    height: int | None = None
    width: int | None = None
    #: Audio files: the header's rate, channels and duration.
    sample_rate: int | None = None
    channels: int | None = None
    seconds: float | None = None

    @property
    def pixels(self) -> int:
        return (self.height or 0) * (self.width or 0)


def bad(reason: Reason, detail: str, **fields: object) -> Check:
    return Check(False, reason, detail, **fields)  # type: ignore[arg-type]


def sniff(data: bytes) -> str | None:
    """The format named by the file's first bytes, for the formats DALI decodes and GIF."""
    if data[:3] == b"\xff\xd8\xff":
        return "JPEG"
    if data[:8] == _PNG:
        return "PNG"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "GIF"
    if data[:2] == b"BM":
        return "BMP"
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        return "TIFF"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WEBP"
    if len(data) > 2 and data[0] == 0x50 and data[1] in b"123456" and data[2] in b" \t\r\n":
        return "PPM"  # PIL's name for the whole PNM family
    if data[:12] == b"\x00\x00\x00\x0cjP  \r\n\x87\n" or data[:4] == b"\xff\x4f\xff\x51":
        return "JPEG2000"
    return None


def _is_text(data: bytes) -> bool:
    return all(32 <= b < 127 or b in (9, 10, 13) for b in data[:64])


def _describe_unknown(data: bytes) -> str:
    if _is_text(data):
        text = data[:64].decode("ascii").split("\n", 1)[0].strip()[:40]
        return f"no image signature; looks like text: {text!r}"
    return f"no image signature; starts with {data[:8].hex(' ')}"


@dataclass(frozen=True)
class _JpegLayout:
    scan: int  # offset of the first entropy-coded byte
    has_eoi: bool


def _jpeg_layout(data: bytes) -> _JpegLayout | Check:
    """Walk the marker segments to the first scan; a :class:`Check` when the headers are bad."""
    n, i, frame = len(data), 2, False
    while True:
        if i + 4 > n:
            where = "before the frame header" if not frame else "before the scan data"
            return bad("truncated", f"JPEG ends inside its headers ({where}, {n} bytes)")
        if data[i] != 0xFF:
            return bad("corrupt", f"JPEG: expected a marker at byte {i}, got 0x{data[i]:02x}")
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:  # no length field
            i += 2
            continue
        if marker == 0xD9:
            return bad("corrupt", f"JPEG: end marker at byte {i}, before any scan")
        (length,) = struct.unpack_from(">H", data, i + 2)
        frame = frame or marker in _SOF_MARKERS
        if marker == 0xDA:
            scan = i + 2 + length
            if not frame:
                return bad("corrupt", "JPEG: scan without a frame header (SOF)")
            if scan >= n:
                return bad("truncated", f"JPEG ends before the scan data ({n} bytes)")
            # 0xFF 0xD9 cannot occur inside entropy-coded data (0xFF is stuffed with 0x00 there),
            # so searching backwards finds the real EOI even with trailing bytes after it.
            return _JpegLayout(scan, data.rfind(b"\xff\xd9", scan) >= 0)
        i += 2 + length


def _png_size(data: bytes) -> tuple[int, int] | None:
    """(height, width) from the IHDR chunk, without PIL: PIL refuses (or warns about) huge
    sizes while opening, and the size check must give its own verdict with the size."""
    if len(data) < 24 or data[12:16] != b"IHDR":
        return None
    width, height = struct.unpack_from(">II", data, 16)
    return height, width


def classify_pil_error(exc: BaseException, fmt: str | None = None) -> Check:
    """A PIL exception as a verdict: truncated, not an image, too many pixels or corrupt.
    ``fmt`` is the format the signature named (a file with one is corrupt, not "not an image")."""
    message = str(exc) or type(exc).__name__
    if isinstance(exc, (TooManyPixelsError, Image.DecompressionBombError)):
        return bad("too_many_pixels", message, decoder="pil", format=fmt)
    if isinstance(exc, MemoryError):  # max_pixels=None and an image larger than memory
        return bad("too_many_pixels", "not enough memory to decode it", decoder="pil", format=fmt)
    if isinstance(exc, UnidentifiedImageError):
        if fmt is None:
            return bad("not_image", "PIL cannot identify the file", decoder="pil")
        return bad("corrupt", f"{fmt} signature, but PIL cannot read the header", format=fmt)
    if "truncat" in message.lower() or isinstance(exc, EOFError):
        return bad("truncated", message, decoder="pil", format=fmt)
    return bad("corrupt", f"{type(exc).__name__}: {message}", decoder="pil", format=fmt)


# Pillow signals bad data with OSError (truncated, decoder errors; UnidentifiedImageError is one),
# SyntaxError (broken PNG chunks), ValueError, EOFError and its bomb error (ours, under
# pixel_limit: TooManyPixelsError, a ValueError); anything else is a bug and propagates.
PIL_ERRORS = (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError)


def decode_with_pil(
    data: bytes, fmt: str | None = None, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> Check | None:
    """Decode fully with PIL as the reference decoder does; ``None`` when it succeeds.

    ``max_pixels`` replaces PIL's decompression-bomb limit (``None``: none; a decode that then
    runs out of memory is ``too_many_pixels`` too).

    The reference (:func:`.pil.decode_pil`) also orients and converts the decoded image. For an
    RGB or L image without an EXIF rotation those steps are plain copies that cannot fail, and
    they cost as much as the decode itself, so only the other files go through it.
    """
    from .pil import decode_pil

    try:
        with pixel_limit(max_pixels), Image.open(io.BytesIO(data)) as image:
            image.load()
            plain = image.mode in ("RGB", "L") and image.getexif().get(0x0112, 1) == 1
        if not plain:
            decode_pil(data, max_pixels=max_pixels)
    except (*PIL_ERRORS, MemoryError) as exc:
        return classify_pil_error(exc, fmt)
    return None


def _identify(data: bytes) -> Check:
    """A file without a signature we know: an image format DALI lacks (ICO, TGA, ...) or not
    an image at all."""
    try:
        with pixel_limit(None), Image.open(io.BytesIO(data)) as image:  # the header only
            other = image.format or "unknown"
    except PIL_ERRORS:
        return bad("not_image", _describe_unknown(data))
    return bad("unsupported_format", f"{other}: DALI's decoder does not read it", format=other)


def _size(data: bytes, fmt: str) -> tuple[int, int] | Check:
    size = _png_size(data) if fmt == "PNG" else None
    if size is not None:
        return size
    try:
        return probe_header(data).size
    except PIL_ERRORS as exc:
        if fmt in WEAK_SIGNATURES and _is_text(data):
            return bad("not_image", _describe_unknown(data))
        return replace(classify_pil_error(exc, fmt), decoder=None)


def check_bytes(data: bytes, *, max_pixels: int | None, deep: bool = False) -> Check:
    """Every check of one file's bytes; ``deep`` adds a full decode with PIL."""
    if not data:
        return bad("empty", "0 bytes")
    fmt = sniff(data)
    if fmt is None:
        return _identify(data)
    if fmt not in DALI_FORMATS:
        return bad("unsupported_format", f"{fmt}: DALI's decoder does not read it", format=fmt)
    layout = _jpeg_layout(data) if fmt == "JPEG" else None
    if isinstance(layout, Check):
        return replace(layout, format=fmt)
    size = _size(data, fmt)
    if isinstance(size, Check):
        return size
    height, width = size
    found = Check(True, format=fmt, height=height, width=width)
    if height < 1 or width < 1:
        return replace(found, ok=False, reason="corrupt", detail=f"{width}x{height} pixels")
    if max_pixels is not None and height * width > max_pixels:
        detail = (
            f"{width}x{height} = {height * width:,} pixels > max_pixels {max_pixels:,} "
            "(raise max_pixels, or None / --max-pixels 0 for no limit)"
        )
        return replace(found, ok=False, reason="too_many_pixels", detail=detail)
    if fmt == "PNG":
        try:  # chunk lengths and CRCs through IEND, without inflating: cheap, finds truncation
            with pixel_limit(None), Image.open(io.BytesIO(data)) as image:  # size checked above
                image.verify()
        except PIL_ERRORS as exc:
            return _merge(found, replace(classify_pil_error(exc, fmt), decoder=None))
    if deep or (layout is not None and not layout.has_eoi):
        failed = decode_with_pil(data, fmt, max_pixels)
        if failed is not None:
            if layout is not None and not layout.has_eoi and failed.reason == "corrupt":
                failed = replace(failed, reason="truncated")  # no EOI: the cause is clear
            return _merge(found, failed)
    return found


def _merge(found: Check, failed: Check) -> Check:
    """``failed``'s verdict with the format and size the header gave."""
    return replace(failed, format=found.format, height=found.height, width=found.width)
