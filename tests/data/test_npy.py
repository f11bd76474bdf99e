"""Raw ``.npy`` images: written as numpy writes them, parsed with every guard on the header."""

from __future__ import annotations

import io

import numpy as np
import pytest

from dali_pipelines.data.npy import (
    NpyError,
    column_encoding,
    matches_color,
    parse_npy,
    to_npy,
)
from dali_pipelines.errors import DatasetError


def _npy(array: np.ndarray, **kwargs: object) -> bytes:
    out = io.BytesIO()
    np.save(out, array, **kwargs)  # type: ignore[arg-type]
    return out.getvalue()


def test_written_members_are_standard_npy_files_parsed_as_views() -> None:
    pixels = np.arange(5 * 7 * 3, dtype=np.uint8).reshape(5, 7, 3)
    data = to_npy(pixels)
    assert np.array_equal(np.load(io.BytesIO(data), allow_pickle=False), pixels)
    buffer = np.frombuffer(data, dtype=np.uint8)
    parsed = parse_npy(buffer)
    assert np.array_equal(parsed, pixels) and np.shares_memory(parsed, buffer)
    assert parse_npy(to_npy(pixels[:, :, 0])).shape == (5, 7, 1)  # HW -> HWC
    assert np.array_equal(parse_npy(_npy(pixels)), pixels)  # numpy's own file


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "npy magic"),
        (b"GIF89a" + bytes(20), "npy magic"),
        (_npy(np.zeros((4, 4, 3), np.float32)), "npy dtype: expected uint8"),
        (_npy(np.zeros((4, 4), np.uint8)), "npy shape: expected (height, width, channels)"),
        (_npy(np.zeros((4, 4, 4), np.uint8)), "npy channels: expected 1 or 3, got 4"),
        (_npy(np.zeros((0, 4, 3), np.uint8)), "npy shape: expected positive sizes"),
        (_npy(np.asfortranarray(np.zeros((4, 5, 3), np.uint8))), "npy fortran_order"),
        (_npy(np.array([{"a": 1}], dtype=object), allow_pickle=True), "npy dtype"),
        (_npy(np.zeros((4, 4, 3), np.uint8))[:-1], "npy data: expected 48 bytes, got 47"),
        (_npy(np.zeros((4, 4, 3), np.uint8)) + b"x", "npy data: expected 48 bytes, got 49"),
        (b"\x93NUMPY\x01\x00\xff\xff" + b" " * 70000, "npy header: expected at most"),
        (b"\x93NUMPY\x01\x00\x08\x00__import", "npy header: expected a Python dict literal"),
        (b"\x93NUMPY\x09\x00\x08\x00", "npy version"),
    ],
)
def test_bad_headers_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(NpyError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse_npy(data)


def test_a_header_claiming_too_many_pixels_is_refused_before_any_view() -> None:
    header = to_npy(np.zeros((2, 2, 3), np.uint8)).replace(b"(2, 2, 3)", b"(9, 9, 3)")
    with pytest.raises(NpyError, match="npy pixels: expected at most 64, got 9x9"):
        parse_npy(header, max_pixels=64)


def test_a_column_is_raw_throughout_or_not_at_all() -> None:
    assert column_encoding({"jpg", "png"}, "x") == "encoded"
    assert column_encoding({"npy"}, "x") == "npy"
    with pytest.raises(DatasetError, match=r"x: expected every image raw \(npy\) or none"):
        column_encoding({"npy", "jpg"}, "x")


def test_colour_conversion_matches_pil() -> None:
    from PIL import Image

    rgb = np.random.default_rng(0).integers(0, 256, (6, 5, 3), dtype=np.uint8)
    assert matches_color(rgb, "rgb") is rgb
    gray = matches_color(rgb, "grayscale")
    assert np.array_equal(gray[:, :, 0], np.asarray(Image.fromarray(rgb).convert("L")))
    assert np.array_equal(matches_color(gray, "rgb"), np.repeat(gray, 3, axis=2))
