"""Bad and odd image files, written on demand, with the verdict each one must get.

One table, :data:`KINDS`, is shared by the validator's tests, the decode-behaviour tests and the
loader's ``on_error`` tests: each :class:`Kind` writes its file and says whether it is ``good``
(both decoders read it, the loader must deliver it) or ``bad`` (with the reason ``validate``
reports). The verdicts were measured against PIL and DALI 2.4's CPU decoder, see
``tests/data/test_badfiles_decode.py`` and ``docs/bad-data.md``.

Files are small (64x96 px) so a whole set writes in a few milliseconds.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
from PIL import Image

HEIGHT, WIDTH = 64, 96
#: A header that claims this many pixels per side (50000^2 = 2.5e9 > PIL's 89.5e6 limit).
HUGE_SIDE = 50_000

Verdict = Literal["good", "bad"]


def pattern(height: int = HEIGHT, width: int = WIDTH, seed: int = 0) -> np.ndarray:
    """A smooth RGB pattern (compresses like a photo) with a clear top-left/bottom-right
    asymmetry, so a rotation or a flip changes the pixels."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    image = np.stack(
        [x / width * 255, y / height * 255, (np.sin(x / 6.0) + np.cos(y / 4.0) + 2) * 60], axis=-1
    )
    image += rng.normal(0, 4, size=image.shape)
    return image.clip(0, 255).astype(np.uint8)


def jpeg_bytes(image: Image.Image | None = None, **save: object) -> bytes:
    """A baseline JPEG (quality 90 unless ``save`` says otherwise)."""
    image = image if image is not None else Image.fromarray(pattern())
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", **({"quality": 90} | save))
    return buffer.getvalue()


def png_bytes(image: Image.Image, **save: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **save)
    return buffer.getvalue()


def sos_offset(data: bytes) -> int:
    """Offset of the first byte of entropy-coded data (just after the SOS segment)."""
    i = 2
    while i + 4 <= len(data):
        marker = data[i + 1]
        length = struct.unpack_from(">H", data, i + 2)[0]
        if marker == 0xDA:
            return i + 2 + length
        i += 2 + length
    raise ValueError("no SOS marker")


def sof_offset(data: bytes) -> int:
    """Offset of the SOF0 marker (its height is 5 bytes further, its width 7)."""
    offset = data.find(b"\xff\xc0")
    if offset < 0:
        raise ValueError("no SOF0 marker")
    return offset


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload) & 0xFFFFFFFF)
    )


def png16_rgb_bytes(array: np.ndarray) -> bytes:
    """A 16-bit-per-channel RGB PNG (PIL cannot write one), from an (H, W, 3) uint16 array."""
    height, width, _ = array.shape
    raw = b"".join(b"\x00" + row.astype(">u2").tobytes() for row in array)
    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(raw))
        + _png_chunk(b"IEND", b"")
    )


def gradient16(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A 16-bit ramp covering 0..65535, including values where /257 and >>8 differ."""
    return np.linspace(0, 65535, height * width).round().astype(np.uint16).reshape(height, width)


# -- the writers: bytes of each kind ---------------------------------------------------------------


def _good_jpeg() -> bytes:
    return jpeg_bytes()


def _truncated(fraction_of_scan: float | None, cut: int | None = None) -> Callable[[], bytes]:
    """A JPEG cut ``fraction_of_scan`` of the way through its entropy-coded data, or at ``cut``."""

    def write() -> bytes:
        data = jpeg_bytes()
        if cut is not None:
            return data[:cut]
        start, end = sos_offset(data), len(data) - 2  # the scan ends at EOI (FFD9)
        assert fraction_of_scan is not None
        return data[: start + int((end - start) * fraction_of_scan)]

    return write


def _header_only() -> bytes:
    data = jpeg_bytes()
    return data[: sos_offset(data)]  # every segment up to and including SOS, no scan data


def _random_bytes() -> bytes:
    return np.random.default_rng(7).integers(0, 256, size=4096, dtype=np.uint8).tobytes()


def _text() -> bytes:
    return b"<html><body>404 Not Found</body></html>\n" * 4


def _png_named_jpg() -> bytes:
    return png_bytes(Image.fromarray(pattern()))


def _cmyk_jpeg() -> bytes:
    return jpeg_bytes(Image.fromarray(pattern()).convert("CMYK"))


def _gray_jpeg() -> bytes:
    return jpeg_bytes(Image.fromarray(pattern()).convert("L"))


def _palette_png() -> bytes:
    return png_bytes(Image.fromarray(pattern()).quantize(colors=32))


def _rgba_png() -> bytes:
    rgba = np.dstack([pattern(), np.linspace(0, 255, HEIGHT * WIDTH).reshape(HEIGHT, WIDTH)])
    return png_bytes(Image.fromarray(rgba.astype(np.uint8)))


def _png16_gray() -> bytes:
    return png_bytes(Image.fromarray(gradient16()))


def _png16_rgb() -> bytes:
    ramp = gradient16()
    return png16_rgb_bytes(np.dstack([ramp, ramp[::-1], np.full_like(ramp, 40000)]))


def _exif_rotated() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to display": displayed image is WIDTH x HEIGHT (h x w)
    return jpeg_bytes(Image.fromarray(pattern()), exif=exif.tobytes())


def _huge_jpeg() -> bytes:
    """A real JPEG whose SOF claims HUGE_SIDE x HUGE_SIDE (the scan is the small image's)."""
    data = bytearray(jpeg_bytes())
    sof = sof_offset(bytes(data))
    struct.pack_into(">HH", data, sof + 5, HUGE_SIDE, HUGE_SIDE)
    return bytes(data)


def _huge_png() -> bytes:
    """A PNG whose IHDR (with a correct CRC) claims HUGE_SIDE x HUGE_SIDE, with tiny data."""
    header = struct.pack(">IIBBBBB", HUGE_SIDE, HUGE_SIDE, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + _png_chunk(b"IEND", b"")
    )


def _gif_named_jpg() -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pattern()).quantize(colors=32).save(buffer, format="GIF")
    return buffer.getvalue()


def _missing_eoi_padded() -> bytes:
    """The final FFD9 replaced by zero bytes: the decoders' read-ahead finds bits, no error."""
    return jpeg_bytes()[:-2] + b"\x00" * 16


def _trailing_garbage() -> bytes:
    return jpeg_bytes() + np.random.default_rng(3).integers(0, 256, 512, np.uint8).tobytes()


def _marker_in_scan() -> bytes:
    """A DHT marker (FFC4) written over the middle of the scan data."""
    data = bytearray(jpeg_bytes())
    middle = (sos_offset(bytes(data)) + len(data)) // 2
    data[middle : middle + 2] = b"\xff\xc4"
    return bytes(data)


def _truncated_png() -> bytes:
    data = _png_named_jpg()
    return data[: len(data) // 2]


def _png_no_iend() -> bytes:
    return _png_named_jpg()[:-12]  # the 12-byte IEND chunk


# -- the table ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    """One kind of file: how to write it and the verdict ``validate --deep`` must give.

    ``pil_decodes``/``dali_decodes`` say what each decoder does with it (measured on Pillow 13
    and DALI 2.4's CPU decoder; both refuse the huge headers without allocating). The loader's
    behaviour follows: ``raises`` under ``on_error="raise"``, ``skipped`` under ``"skip"``
    (otherwise delivered, through the PIL fallback when ``dali_decodes`` is false).
    """

    name: str
    suffix: str
    verdict: Verdict
    reason: str | None  # dali_pipelines.data.checks.Reason of a bad file
    make: Callable[[], bytes]
    note: str
    pil_decodes: bool = True
    dali_decodes: bool = True
    #: DALI's error text through an external source (a substring), when it fails.
    dali_error: str | None = None
    #: Found without ``--deep`` (the quick checks read headers, not pixels).
    quick: bool = True

    @property
    def filename(self) -> str:
        return f"{self.name}{self.suffix}"

    @property
    def too_big(self) -> bool:
        return self.reason == "too_many_pixels"

    @property
    def raises(self) -> bool:
        """The loader cannot deliver it through DALI: ``on_error="raise"`` raises."""
        return self.too_big or not self.dali_decodes

    @property
    def skipped(self) -> bool:
        """Neither decoder reads it (or it is too big): ``on_error="skip"`` skips it."""
        return self.too_big or not (self.dali_decodes or self.pil_decodes)

    def write(self, folder: Path) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / self.filename
        path.write_bytes(self.make())
        return path


_SAMPLE = "Failed to decode sample #"  # DALI names the position in the batch, not the file


def _good(name: str, suffix: str, make: Callable[[], bytes], note: str) -> Kind:
    return Kind(name, suffix, "good", None, make, note)


def _codec(status: int) -> str:
    return f"nvImageCodec failure: '#{status}'"  # an nvimgcodecStatus_t, see docs/bad-data.md


def _bad(
    name: str,
    reason: str,
    make: Callable[[], bytes],
    note: str,
    dali_error: str | None,
    suffix: str = ".jpg",
    *,
    pil: bool = False,
    dali: bool = False,
    quick: bool = True,
) -> Kind:
    return Kind(name, suffix, "bad", reason, make, note, pil, dali, dali_error, quick)


KINDS: tuple[Kind, ...] = (
    _good("good_jpeg", ".jpg", _good_jpeg, "baseline RGB JPEG"),
    _good("grayscale_jpeg", ".jpg", _gray_jpeg, "1-channel JPEG"),
    _good("cmyk_jpeg", ".jpg", _cmyk_jpeg, "4-channel Adobe CMYK JPEG"),
    _good("png_named_jpg", ".jpg", _png_named_jpg, "a PNG file with a .jpg name"),
    _good("palette_png", ".png", _palette_png, "8-bit palette (mode P)"),
    _good("rgba_png", ".png", _rgba_png, "alpha is dropped"),
    _good("png16_gray", ".png", _png16_gray, "16-bit grayscale (PIL mode I;16)"),
    _good("png16_rgb", ".png", _png16_rgb, "16-bit RGB (PIL keeps the high byte)"),
    _good("exif_rotated", ".jpg", _exif_rotated, "EXIF orientation 6 (90 degrees)"),
    _good("missing_eoi_padded", ".jpg", _missing_eoi_padded, "no FFD9, zero bytes instead"),
    _good("trailing_garbage", ".jpg", _trailing_garbage, "512 random bytes after FFD9"),
    _bad("zero_bytes", "empty", lambda: b"", "0-byte file", _codec(2)),
    _bad("random_bytes", "not_image", _random_bytes, "4 KiB of noise", _codec(4)),
    _bad("text", "not_image", _text, "an HTML error page", _codec(4)),
    _bad("truncated_in_headers", "truncated", _truncated(None, 100), "cut at byte 100", _codec(3)),
    _bad("header_only", "truncated", _header_only, "all headers, no scan data", _SAMPLE),
    _bad("truncated_early", "truncated", _truncated(0.1), "cut 10% into the scan", _SAMPLE),
    _bad("truncated_mid_scan", "truncated", _truncated(0.5), "cut half-way into the scan", _SAMPLE),
    _bad("missing_eoi", "truncated", _truncated(None, -2), "only FFD9 missing", _SAMPLE),
    _bad("truncated_png", "truncated", _truncated_png, "first half of a PNG", _codec(17), ".png"),
    _bad("png_no_iend", "truncated", _png_no_iend, "IEND missing", _codec(17), ".png", pil=True),
    _bad(
        "marker_in_scan",
        "corrupt",
        _marker_in_scan,
        "FFC4 written mid-scan: PIL fails, DALI decodes",
        None,
        dali=True,
        quick=False,
    ),
    # Both decoders refuse these before allocating (libjpeg: "Image too large", then OpenCV's
    # 2^30-pixel limit in DALI's fallback decoder).
    _bad("huge_jpeg_header", "too_many_pixels", _huge_jpeg, "SOF claims 50000x50000", _SAMPLE),
    _bad(
        "huge_png_header", "too_many_pixels", _huge_png, "IHDR claims 50000x50000", _SAMPLE, ".png"
    ),
    _bad("gif_named_jpg", "unsupported_format", _gif_named_jpg, "a GIF", _codec(4), pil=True),
)

BY_NAME = {kind.name: kind for kind in KINDS}
GOOD = tuple(kind for kind in KINDS if kind.verdict == "good")
BAD = tuple(kind for kind in KINDS if kind.verdict == "bad")


def write_all(folder: Path, kinds: tuple[Kind, ...] = KINDS) -> dict[str, Path]:
    """Write every kind into ``folder``; name -> path."""
    return {kind.name: kind.write(folder) for kind in kinds}
