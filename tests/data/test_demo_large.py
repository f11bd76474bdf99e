"""The large-photo demo set: sides within bounds, deterministic bytes, decodable by PIL and DALI,
cached, and written by ``demo-data --large``."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dali_pipelines.cli.main import main
from dali_pipelines.data import ImageFolder
from dali_pipelines.data.demo import MANIFEST_NAME, read_manifest
from dali_pipelines.data.demo_large import (
    LARGE_MAX_SIDE,
    LARGE_MIN_SIDE,
    cached_large_demo,
    make_large_demo,
)

pytest.importorskip("skimage")

# Small sides keep the tests fast; one test renders the default 1,500-3,000 px.
SIDES = {"min_side": 160, "max_side": 320}


def _digest(root: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(root.rglob("*.jpg")):
        h.update(str(p.relative_to(root)).encode() + p.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def small_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("large") / "a"
    return make_large_demo(out, n=12, classes=3, seed=5, **SIDES)


def test_layout_sizes_and_manifest(small_root: Path) -> None:
    folder = ImageFolder(small_root)
    assert len(folder) == 12 and folder.classes == ["class_000", "class_001", "class_002"]
    sizes = set()
    for path in small_root.rglob("*.jpg"):
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert all(160 <= side <= 320 for side in im.size)
            sizes.add(im.size)
    assert len(sizes) > 6
    manifest = read_manifest(small_root)
    assert manifest is not None
    assert manifest["kind"] == "large" and manifest["min_side"] == 160
    assert manifest["quality"] == 90 and manifest["n"] == 12


def test_same_arguments_same_bytes_whatever_the_threads(small_root: Path, tmp_path: Path) -> None:
    again = make_large_demo(tmp_path / "b", n=12, classes=3, seed=5, workers=1, **SIDES)
    assert _digest(again) == _digest(small_root)
    other = make_large_demo(tmp_path / "c", n=12, classes=3, seed=6, workers=1, **SIDES)
    assert _digest(other) != _digest(small_root)


def test_images_differ_from_each_other(small_root: Path) -> None:
    pixels = [np.asarray(Image.open(p).resize((32, 32))) for p in small_root.rglob("*.jpg")]
    distinct = {a.tobytes() for a in pixels}
    assert len(distinct) == len(pixels)


def test_default_sides_are_large_and_decode_in_dali(tmp_path: Path) -> None:
    root = make_large_demo(tmp_path / "d", n=2, classes=1, seed=0)
    paths = sorted(root.rglob("*.jpg"))
    for path in paths:
        with Image.open(path) as im:
            assert all(LARGE_MIN_SIDE <= side <= LARGE_MAX_SIDE for side in im.size)
            im.load()
    pytest.importorskip("nvidia.dali")
    from nvidia.dali import fn, pipeline_def, types

    data = np.frombuffer(paths[0].read_bytes(), dtype=np.uint8)

    @pipeline_def(batch_size=1, num_threads=1, device_id=None)
    def decode():  # type: ignore[no-untyped-def]
        return fn.decoders.image(fn.external_source(source=lambda: [data]), output_type=types.RGB)

    pipe = decode()
    pipe.build()
    (out,) = pipe.run()
    decoded = np.asarray(out.at(0))
    with Image.open(paths[0]) as im:
        assert decoded.shape == (im.height, im.width, 3)


def test_cache_is_made_once_and_reused(tmp_path: Path) -> None:
    root, created = cached_large_demo(tmp_path, n=1, classes=1, seed=3)
    assert created and root == tmp_path / "demo-large-1-1-3"
    stamp = (root / MANIFEST_NAME).stat().st_mtime_ns
    again, created = cached_large_demo(tmp_path, n=1, classes=1, seed=3)
    assert again == root and not created
    assert (root / MANIFEST_NAME).stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("min_side", "max_side", "quality"), [(10, 20, 90), (300, 200, 90), (160, 320, 0)]
)
def test_bad_sides(tmp_path: Path, min_side: int, max_side: int, quality: int) -> None:
    with pytest.raises(ValueError, match="large demo"):
        make_large_demo(
            tmp_path, n=1, classes=1, min_side=min_side, max_side=max_side, quality=quality
        )


def test_cli_large(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli"
    assert main(["demo-data", str(out), "--large", "--n", "2", "--classes", "2"]) == 0
    assert "wrote 2 large JPEGs in 2 classes" in capsys.readouterr().out
    manifest = read_manifest(out)
    assert manifest is not None and manifest["kind"] == "large" and manifest["max_side"] == 3000
    assert main(["demo-data", str(tmp_path / "x"), "--large", "--modality", "audio"]) == 2
    assert "--large: expected --modality image" in capsys.readouterr().err
