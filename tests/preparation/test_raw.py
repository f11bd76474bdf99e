"""``prepare(raw=True)``: every image stored as a ``.npy`` member of raw uint8 pixels."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dali_pipelines.cli.main import main
from dali_pipelines.data.npy import RAW_MAX_PIXELS
from dali_pipelines.data.pil import decode_pil
from dali_pipelines.errors import DatasetError
from dali_pipelines.preparation import prepare
from tests.conftest import smooth_image
from tests.preparation.helpers import encode, indexes, stored_images, tar_members, write_folder


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """32x32 JPEGs and PNGs (CIFAR-like), one grayscale PNG, one RGBA PNG, one rotated JPEG."""
    root = write_folder(tmp_path_factory.mktemp("tiny"), [(32, 32)] * 4)
    rng = np.random.default_rng(5)
    rgb = smooth_image(rng, 32, 32)
    (root / "class0" / "gray.png").write_bytes(encode(rgb[:, :, 0], "PNG"))
    rgba = np.dstack([rgb, np.full((32, 32), 200, np.uint8)])
    (root / "class1" / "rgba.png").write_bytes(encode(rgba, "PNG"))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotated 90 degrees: stored 24x32, shown 32x24
    rotated = io.BytesIO()
    Image.fromarray(smooth_image(rng, 24, 32)).save(rotated, "JPEG", quality=92, exif=exif)
    (root / "class1" / "rotated.jpg").write_bytes(rotated.getvalue())
    return root


def _arrays(out: Path) -> list[tuple[str, np.ndarray]]:
    return [
        (path, np.load(io.BytesIO(data), allow_pickle=False)) for path, data in stored_images(out)
    ]


def test_members_are_npy_files_equal_to_the_loaders_decode(tiny: Path, tmp_path: Path) -> None:
    manifest = prepare(tiny, tmp_path / "out", raw=True, workers=1)
    assert manifest.options.raw and manifest.counts.samples == 7 and not manifest.bad
    assert manifest.counts.reencoded == 7 and manifest.counts.kept == 0
    found = _arrays(tmp_path / "out")
    for path, array in found:
        assert array.dtype == np.uint8 and array.ndim == 3 and array.flags.c_contiguous
        original = decode_pil(Path(path).read_bytes(), "rgb")
        if path.endswith("gray.png"):  # L stays L
            assert array.shape == (32, 32, 1)
            assert np.array_equal(np.repeat(array, 3, axis=2), np.asarray(original))
        else:  # exactly PIL's pixels, oriented and converted to RGB
            assert np.array_equal(array, np.asarray(original)), path
    sizes = {Path(p).name: a.shape for p, a in found}
    assert sizes["rotated.jpg"] == (32, 24, 3)
    index = indexes(tmp_path / "out")[0].images["images"]
    assert set(index.ext) == {"npy"}
    assert [(h, w) for h, w in zip(index.height, index.width)] == [a.shape[:2] for _, a in found]
    names = [m.name for m in tar_members(tmp_path / "out" / "shards" / "shard-000000.tar")]
    assert "000000000.images.npy" in names
    record = json.loads(next(n for n in stored_records(tmp_path / "out")))
    assert record["images"]["images"]["member"].endswith(".images.npy")


def stored_records(out: Path) -> list[str]:
    import tarfile

    with tarfile.open(out / "shards" / "shard-000000.tar") as tar:
        return [
            tar.extractfile(m).read().decode()  # type: ignore[union-attr]
            for m in tar.getmembers()
            if m.name.endswith(".json")
        ]


def test_a_bound_applies_before_the_pixels_are_stored(tiny: Path, tmp_path: Path) -> None:
    prepare(tiny, tmp_path / "out", raw=True, max_side=16, workers=1)
    for path, array in _arrays(tmp_path / "out"):
        assert max(array.shape[:2]) == 16, path
        assert array.shape[2] == (1 if path.endswith("gray.png") else 3)


def test_images_over_the_raw_bound_are_refused_naming_the_file(tmp_path: Path) -> None:
    root = tmp_path / "src" / "a"
    root.mkdir(parents=True)
    side = int(RAW_MAX_PIXELS**0.5)
    (root / "big.png").write_bytes(encode(np.zeros((side + 1, side), np.uint8), "PNG"))
    with pytest.raises(
        DatasetError, match=r"big\.png: raw: expected at most 1048576 pixels per stored image"
    ):
        prepare(tmp_path / "src", tmp_path / "out", raw=True, workers=1)
    # bounded, it fits
    manifest = prepare(tmp_path / "src", tmp_path / "bounded", raw=True, max_side=64, workers=1)
    assert manifest.counts.samples == 1


def test_the_cli_flag(tiny: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", str(tiny), str(tmp_path / "out"), "--raw", "-q"]) == 0
    assert "stored as raw uint8 pixels (npy)" in capsys.readouterr().out
    written = json.loads((tmp_path / "out" / "prepared.json").read_text())
    assert written["options"]["raw"] is True
