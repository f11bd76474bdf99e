"""What DALI's CPU decoder and the reference PIL decoder do with each file of tests/badfiles.py.

These pin the claims issue 7 and docs/bad-data.md make: the odd-but-good files decode to the same
pixels in both (tolerances stated per case), 16-bit PNGs scale the same way, EXIF orientation is
applied by both, and each bad file fails in DALI with the message recorded in the table (which
never names the file when the bytes come through an external source).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from dali_pipelines.data.pil import decode_pil
from tests.badfiles import BAD, BY_NAME, GOOD, HEIGHT, WIDTH, Kind, gradient16

pytest.importorskip("nvidia.dali")
pytestmark = pytest.mark.integration


def cpu_options(batch_size: int) -> dict[str, Any]:
    return {
        "batch_size": batch_size,
        "num_threads": 1,
        "device_id": None,
        "prefetch_queue_depth": 1,
    }


def dali_pipeline(batch_size: int, color: str = "rgb") -> Any:
    from nvidia.dali import fn, pipeline_def
    from nvidia.dali.types import DALIDataType, DALIImageType

    @pipeline_def(**cpu_options(batch_size))
    def graph() -> Any:
        encoded = fn.external_source(name="encoded", batch=True, dtype=DALIDataType.UINT8, ndim=1)
        return fn.decoders.image(
            encoded,
            device="cpu",
            output_type=DALIImageType.RGB if color == "rgb" else DALIImageType.GRAY,
            jpeg_fancy_upsampling=True,  # what the DALI backend uses (PIL's upsampling)
        )

    pipe = graph()
    pipe.build()
    return pipe


def dali_decode(data: bytes, color: str = "rgb") -> np.ndarray:
    (out,) = dali_pipeline(1, color).run(encoded=[np.frombuffer(data, dtype=np.uint8)])
    return np.array(out.at(0))


def pil_decode(data: bytes, color: str = "rgb") -> np.ndarray:
    array = np.asarray(decode_pil(data, color))  # type: ignore[arg-type]
    return array if array.ndim == 3 else array[:, :, None]


def max_diff(a: np.ndarray, b: np.ndarray) -> int:
    assert a.shape == b.shape
    return int(np.abs(a.astype(np.int16) - b.astype(np.int16)).max())


# RGB: identical, except 16-bit RGB PNGs, where PIL keeps the high byte (v >> 8) and DALI rounds
# v / 257: they differ by 1 on some values. Grayscale: DALI takes a JPEG's Y channel, PIL converts
# its RGB decode to L (ITU-R 601-2 luma, rounded): up to 2 levels on a few pixels; from RGB
# sources (PNG, CMYK) the two luma roundings differ by at most 1.
RGB_TOLERANCE = {"png16_rgb": 1}
GRAY_TOLERANCE = {
    "good_jpeg": 2,
    "exif_rotated": 2,
    "missing_eoi_padded": 2,
    "trailing_garbage": 2,
    "cmyk_jpeg": 1,
    "png_named_jpg": 1,
    "palette_png": 1,
    "rgba_png": 1,
    "png16_rgb": 1,
}


@pytest.mark.parametrize("kind", GOOD, ids=lambda k: k.name)
@pytest.mark.parametrize("color", ["rgb", "grayscale"])
def test_good_files_decode_like_the_reference(kind: Kind, color: str) -> None:
    data = kind.make()
    ours, reference = dali_decode(data, color), pil_decode(data, color)
    channels = 3 if color == "rgb" else 1
    rotated = kind.name == "exif_rotated"
    assert (
        ours.shape
        == reference.shape
        == ((WIDTH, HEIGHT) if rotated else (HEIGHT, WIDTH)) + (channels,)
    )
    tolerance = (RGB_TOLERANCE if color == "rgb" else GRAY_TOLERANCE).get(kind.name, 0)
    assert max_diff(ours, reference) <= tolerance


def test_16bit_gray_png_is_divided_by_257_by_both() -> None:
    expected = ((gradient16().astype(np.uint32) + 128) // 257).astype(np.uint8)
    data = BY_NAME["png16_gray"].make()
    assert np.array_equal(dali_decode(data, "grayscale")[:, :, 0], expected)
    assert np.array_equal(pil_decode(data, "grayscale")[:, :, 0], expected)
    assert np.array_equal(dali_decode(data)[:, :, 1], expected)  # RGB: the value thrice


def test_16bit_rgb_png_dali_rounds_while_pil_keeps_the_high_byte() -> None:
    ramp = gradient16().astype(np.uint32)
    data = BY_NAME["png16_rgb"].make()
    dali, pil = dali_decode(data)[:, :, 0], pil_decode(data)[:, :, 0]
    assert np.array_equal(dali, (ramp + 128) // 257)
    # PIL opens a 16-bit RGB PNG as mode RGB (not I;16), so pil.py's /257 never sees it.
    assert np.array_equal(pil, ramp >> 8)
    differs = float(np.mean(dali != pil))
    # round(v / 257) != v >> 8 when the low byte exceeds the high one by more than 128 (or the
    # reverse): about a quarter of uniformly spread values, always by exactly 1.
    assert 0.15 < differs < 0.35
    assert max_diff(dali, pil) == 1


def test_exif_orientation_is_applied_by_both() -> None:
    plain = pil_decode(BY_NAME["good_jpeg"].make())
    data = BY_NAME["exif_rotated"].make()
    # Orientation 6: the stored image is shown rotated 90 degrees clockwise.
    expected = np.rot90(plain, k=-1)
    assert max_diff(dali_decode(data), expected) == 0
    assert max_diff(pil_decode(data), expected) == 0


@pytest.mark.parametrize("kind", [k for k in BAD if not k.dali_decodes], ids=lambda k: k.name)
def test_bad_files_fail_in_dali_without_the_file_name(kind: Kind) -> None:
    assert kind.dali_error is not None
    with pytest.raises(RuntimeError) as info:
        dali_decode(kind.make())
    message = str(info.value)
    assert kind.dali_error in message
    assert kind.filename not in message  # an external source has no file names to give


@pytest.mark.parametrize("kind", [k for k in BAD if k.dali_decodes], ids=lambda k: k.name)
def test_files_dali_reads_but_pil_rejects(kind: Kind) -> None:
    assert dali_decode(kind.make()).shape == (HEIGHT, WIDTH, 3)
    with pytest.raises(OSError):
        decode_pil(kind.make())


@pytest.mark.parametrize("kind", BAD, ids=lambda k: k.name)
def test_pil_verdicts_match_the_table(kind: Kind) -> None:
    if kind.pil_decodes:
        decode_pil(kind.make())
    else:
        with pytest.raises((OSError, SyntaxError, ValueError, Image.DecompressionBombError)):
            decode_pil(kind.make())


def test_one_bad_file_fails_the_whole_batch() -> None:
    pipe = dali_pipeline(4)
    good = np.frombuffer(BY_NAME["good_jpeg"].make(), dtype=np.uint8)
    bad = np.frombuffer(BY_NAME["truncated_mid_scan"].make(), dtype=np.uint8)
    with pytest.raises(RuntimeError, match="Failed to decode sample #2"):  # its batch position
        pipe.run(encoded=[good, good, bad])


READER_NAMES_FILE = {"Failed to decode sample #": True, "nvImageCodec failure": False}


@pytest.mark.parametrize("kind", [k for k in BAD if not k.dali_decodes], ids=lambda k: k.name)
def test_readers_file_names_the_file_only_for_some_errors(kind: Kind, tmp_path: Path) -> None:
    """Through ``fn.readers.file`` DALI knows the path: a decode failure names it, a codestream
    nvImageCodec rejects outright (garbage, GIF) does not, and a 0-byte file fails in the reader
    ("File mapping failed: <path>")."""
    from nvidia.dali import fn, pipeline_def
    from nvidia.dali.types import DALIImageType

    BY_NAME["good_jpeg"].write(tmp_path / "a")
    kind.write(tmp_path / "b")

    @pipeline_def(**cpu_options(2))
    def graph() -> Any:
        encoded, _ = fn.readers.file(file_root=str(tmp_path), name="Reader")
        return fn.decoders.image(encoded, device="cpu", output_type=DALIImageType.RGB)

    with pytest.raises(RuntimeError) as info:
        graph().run()
    message = str(info.value)
    if kind.name == "zero_bytes":
        assert f"File mapping failed: {tmp_path / 'b' / kind.filename}" in message
        return
    assert kind.dali_error is not None
    named = next(v for k, v in READER_NAMES_FILE.items() if kind.dali_error.startswith(k))
    assert (f"b/{kind.filename}" in message) is named
