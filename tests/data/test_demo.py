"""Demo data: deterministic bytes, realistic JPEGs, a cache that is reused and never half-made."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PIL import Image

from dali_pipelines.data import ImageFolder, demo
from dali_pipelines.data.demo import (
    MANIFEST_NAME,
    MissingExtraError,
    cached_demo_imagefolder,
    make_demo_imagefolder,
    read_manifest,
)

pytest.importorskip("skimage")


def _files(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.jpg"))}


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_demo_imagefolder(tmp_path_factory.mktemp("demo") / "a", n=24, classes=3, seed=7)


def test_layout_and_manifest(demo_root: Path) -> None:
    assert sorted(p.name for p in demo_root.iterdir() if p.is_dir()) == [
        "class_000",
        "class_001",
        "class_002",
    ]
    assert (demo_root / "class_001" / "00004.jpg").is_file()  # image i goes to class i % k
    manifest = read_manifest(demo_root)
    assert manifest is not None
    assert manifest["n"] == 24 and manifest["classes"] == 3 and manifest["seed"] == 7
    assert manifest["total_bytes"] == sum(len(b) for b in _files(demo_root).values())
    folder = ImageFolder(demo_root)  # the manifest at the root is not mistaken for a sample
    assert len(folder) == 24 and folder.classes == ["class_000", "class_001", "class_002"]


def test_images_are_rgb_jpegs_within_size_range(demo_root: Path) -> None:
    sizes = set()
    for path in demo_root.rglob("*.jpg"):
        with Image.open(path) as im:
            assert im.format == "JPEG" and im.mode == "RGB"
            assert all(demo.MIN_SIDE <= side <= demo.MAX_SIDE for side in im.size)
            sizes.add(im.size)
    assert len(sizes) > 12  # varied, not one size repeated


def test_same_seed_same_bytes_whatever_the_threads(demo_root: Path, tmp_path: Path) -> None:
    again = make_demo_imagefolder(tmp_path / "b", n=24, classes=3, seed=7, workers=1)
    assert _files(again) == _files(demo_root)


def test_other_seed_other_images(demo_root: Path, tmp_path: Path) -> None:
    other = make_demo_imagefolder(tmp_path / "c", n=24, classes=3, seed=8)
    mine, theirs = _files(demo_root), _files(other)
    assert mine.keys() == theirs.keys()
    assert all(mine[k] != theirs[k] for k in mine)


def test_image_content_varies() -> None:
    sources = demo._load_sources()
    images = {demo.render_demo_jpeg(sources, 0, i) for i in range(8)}
    assert len(images) == 8


def test_cache_is_made_once_and_reused(tmp_path: Path) -> None:
    calls: list[None] = []
    root, created = cached_demo_imagefolder(tmp_path, n=6, classes=2, seed=1)
    assert created and root == tmp_path / "demo-6-2-1"
    stamp = (root / MANIFEST_NAME).stat().st_mtime_ns
    again, created = cached_demo_imagefolder(
        tmp_path, n=6, classes=2, seed=1, on_image=lambda: calls.append(None)
    )
    assert again == root and not created and not calls
    assert (root / MANIFEST_NAME).stat().st_mtime_ns == stamp
    # No temporary folder is left next to the result.
    assert [p.name for p in tmp_path.iterdir()] == ["demo-6-2-1"]


def test_cache_rebuilds_a_stale_or_incomplete_folder(tmp_path: Path) -> None:
    root, _ = cached_demo_imagefolder(tmp_path, n=4, classes=2, seed=0)
    (root / MANIFEST_NAME).write_text('{"generator_version": 0, "n": 4}', encoding="utf-8")
    (root / "class_000" / "stray.jpg").write_bytes(b"junk")
    again, created = cached_demo_imagefolder(tmp_path, n=4, classes=2, seed=0)
    assert created and again == root
    assert not (root / "class_000" / "stray.jpg").exists()
    assert len(ImageFolder(root)) == 4


@pytest.mark.parametrize(("n", "classes"), [(0, 1), (3, 0), (3, 4)])
def test_bad_arguments(tmp_path: Path, n: int, classes: int) -> None:
    with pytest.raises(ValueError, match="demo data"):
        make_demo_imagefolder(tmp_path, n=n, classes=classes)


def test_missing_scikit_image_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "skimage.data", None)  # makes the import fail
    monkeypatch.setitem(sys.modules, "skimage", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'dali-pipelines\[bench\]'"):
        make_demo_imagefolder(tmp_path / "x", n=2, classes=1)
