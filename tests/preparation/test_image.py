"""One image of prepare: the bound, kept bytes, DCT-scaled decode, EXIF, modes, bad files."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, JpegImagePlugin

from dali_pipelines.data.checks import check_bytes
from dali_pipelines.data.pil import DEFAULT_MAX_PIXELS, decode_pil
from dali_pipelines.data.prepared_format import Options
from dali_pipelines.preparation.image import PreparedImage, prepare_image, target_size
from tests import badfiles
from tests.conftest import smooth_image
from tests.preparation.helpers import encode

RNG_SEED = 3


def _photo(height: int, width: int) -> np.ndarray:
    return smooth_image(np.random.default_rng(RNG_SEED), height, width)


def _prepared(data: bytes, **options: object) -> PreparedImage:
    result = prepare_image(data, Options.model_validate(options))
    assert isinstance(result, PreparedImage), result
    return result


def _decoded(image: PreparedImage) -> Image.Image:
    return Image.open(io.BytesIO(image.data))


@pytest.mark.parametrize(
    ("size", "options", "expected"),
    [
        ((300, 200), {"max_side": 100}, (100, 67)),
        ((200, 300), {"max_side": 100}, (67, 100)),
        ((300, 200), {"min_side": 100}, (150, 100)),
        ((100, 80), {"max_side": 100}, None),  # already within
        ((300, 200), {"min_side": 200}, None),
        ((5000, 17), {"max_side": 16}, (16, 1)),  # never below one pixel
        ((300, 200), {}, None),  # no bound
    ],
)
def test_target_size(
    size: tuple[int, int], options: dict[str, int], expected: tuple[int, int] | None
) -> None:
    assert target_size(*size, Options.model_validate(options)) == expected


@pytest.mark.parametrize("bound", ["max_side", "min_side"])
def test_larger_images_are_reencoded_at_the_bound(bound: str) -> None:
    data = encode(_photo(120, 200))
    image = _prepared(data, **{bound: 40})
    side = max if bound == "max_side" else min
    expected = (40, 24) if bound == "max_side" else (67, 40)
    assert (image.width, image.height) == expected and side(expected) == 40
    assert not image.kept and image.ext == "jpg"
    assert (image.source_width, image.source_height, image.source_bytes) == (200, 120, len(data))
    decoded = _decoded(image)
    assert decoded.format == "JPEG" and decoded.size == expected and decoded.mode == "RGB"
    assert not decoded.getexif()  # no EXIF carried


@pytest.mark.parametrize(("fmt", "ext"), [("JPEG", "jpg"), ("PNG", "png"), ("WEBP", "webp")])
def test_images_within_the_bound_are_kept_byte_for_byte(fmt: str, ext: str) -> None:
    data = encode(_photo(30, 50), fmt)
    image = _prepared(data, max_side=64)
    assert image.kept and image.data == data and image.ext == ext
    assert (image.width, image.height) == (50, 30)


def test_dct_scaling_decodes_jpegs_at_a_reduced_scale(monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(_photo(480, 640))
    requested: list[tuple[str, tuple[int, int]]] = []
    scales: list[tuple[int, int]] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def spy(self: Image.Image, mode: str, size: tuple[int, int]) -> object:
        requested.append((mode, size))
        result = draft(self, mode, size)  # type: ignore[arg-type]
        scales.append(self.size)  # the size libjpeg will decode at
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    scaled = _prepared(data, max_side=100)  # reducing_gap 2: at least 200 x 150 decoded
    assert requested == [("RGB", (200, 150))] and scales == [(320, 240)]  # 1/2
    fastest = _prepared(data, max_side=100, reducing_gap=1.0)
    assert requested[1] == ("RGB", (100, 75)) and scales[1] == (160, 120)  # 1/4: still >= 100
    full = _prepared(data, max_side=100, dct_scaling=False)
    assert len(requested) == 2  # off: no draft
    for image in (scaled, fastest, full):
        assert (image.width, image.height) == (100, 75)
    b = np.asarray(_decoded(full), dtype=np.float64)
    gaps = [
        np.abs(np.asarray(_decoded(image), dtype=np.float64) - b).mean()
        for image in (scaled, fastest)
    ]
    # Both within two levels of the full decode after the JPEG re-encode (on photos the margin
    # of 2 is much closer: benchmarks/prepared_quality.py, docs/prepared.md).
    assert max(gaps) < 2.0, gaps


def test_png_is_never_drafted(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[object] = []
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", lambda *a: calls.append(a))
    image = _prepared(encode(_photo(100, 200), "PNG"), max_side=50)
    assert not calls and (image.width, image.height) == (50, 25) and image.ext == "jpg"


@pytest.mark.parametrize("dct", [False, True])
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_exif_orientation_is_applied_before_bounding(orientation: int, dct: bool) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = _photo(200, 400)  # stored 400 wide; orientations 6 and 8 display it 200 wide
    data = encode(stored, exif=exif.tobytes())
    image = _prepared(data, max_side=100, dct_scaling=dct)
    swapped = orientation in (6, 8)
    assert (image.width, image.height) == ((50, 100) if swapped else (100, 50))
    assert (image.source_width, image.source_height) == ((200, 400) if swapped else (400, 200))
    resized = decode_pil(data).resize((image.width, image.height), Image.Resampling.LANCZOS)
    reference = _jpeg(resized)
    if not dct:  # the loader's decode, oriented, resized and encoded: the same bytes
        assert image.data == reference
    got = np.asarray(_decoded(image), dtype=np.float64)
    want = np.asarray(Image.open(io.BytesIO(reference)), dtype=np.float64)
    # A DCT-scaled decode (1/4 here) differs a little from Lanczos on the full image; a wrong
    # orientation would differ by tens of levels.
    assert np.abs(got - want).mean() < 2.0


def _jpeg(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, "JPEG", quality=90, subsampling="4:2:0", optimize=False)
    return out.getvalue()


@pytest.mark.parametrize(
    ("kind", "mode"),
    [
        ("grayscale_jpeg", "L"),
        ("png16_gray", "L"),
        ("rgba_png", "RGB"),
        ("palette_png", "RGB"),
        ("cmyk_jpeg", "RGB"),
    ],
)
def test_modes_follow_the_loader(kind: str, mode: str) -> None:
    data = badfiles.BY_NAME[kind].make()
    image = _prepared(data, max_side=32)
    decoded = _decoded(image)
    assert decoded.mode == mode and max(decoded.size) == 32
    if kind == "png16_gray":
        reference = decode_pil(data, "grayscale").resize(decoded.size, Image.Resampling.LANCZOS)
        diff = np.abs(np.asarray(decoded, float) - np.asarray(reference, float)).mean()
        assert diff < 3.0  # divided by 257, not clipped


BAD = [kind for kind in badfiles.KINDS if kind.verdict == "bad"]


@pytest.mark.parametrize("max_side", [None, 16], ids=["kept", "resized"])
@pytest.mark.parametrize("kind", BAD, ids=[k.name for k in BAD])
def test_bad_files_get_validates_deep_verdict(kind: badfiles.Kind, max_side: int | None) -> None:
    data = kind.make()
    expected = check_bytes(data, max_pixels=DEFAULT_MAX_PIXELS, deep=True)
    options = Options(max_side=max_side, max_pixels=DEFAULT_MAX_PIXELS)
    result = prepare_image(data, options)
    assert not isinstance(result, PreparedImage)
    assert (result.ok, result.reason) == (False, expected.reason) == (False, kind.reason)
