"""Demo data: an ImageFolder of realistic JPEGs made from the photos inside scikit-image's wheel.

Benchmarks need real photographs (decode cost depends on content, size and JPEG quality; noise
or flat colour would flatter or penalise a decoder), but the project cannot download a dataset.
scikit-image ships a handful of photos in its wheel; random crops, rescales, flips and colour
shifts of those give thousands of distinct, ImageNet-like JPEGs (300-700 px sides, quality
75-95) in seconds.

Every image is a pure function of ``(seed, index)``, so the same seed gives byte-identical files
whatever the thread count or the order in which images are written. The cached variants keep a
made folder for reuse: :func:`cached_demo_imagefolder`, and :func:`cached_demo_audio` for the
demo audio set of :mod:`.demo_audio`.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from ..errors import DaliPipelinesError

#: Bump when the generator's output changes, so cached folders made by an older one are rebuilt.
GENERATOR_VERSION = 1
MANIFEST_NAME = ".demo-manifest.json"  # a dot-file at the root: ImageFolder only lists sub-folders
MIN_SIDE, MAX_SIDE = 300, 700
MIN_QUALITY, MAX_QUALITY = 75, 95

# skimage.data loaders whose files are inside the wheel (verified to load with the network
# blocked); kidney, lily, skin, eagle, cells3d, brain, ... are fetched with pooch and are left out.
# Colour photos first; the greyscale photos are tinted into RGB for variety.
_COLOR_SOURCES = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
    "stereo_motorcycle",
)
_GRAY_SOURCES = ("camera", "coins", "moon", "brick", "grass", "gravel")

_INSTALL_HINT = "pip install 'dali-pipelines[bench]'"


class MissingExtraError(DaliPipelinesError, ImportError):
    """An optional dependency (an extra of the package) is not installed."""


def _load_sources() -> list[Image.Image]:
    try:
        import skimage.data as skdata
    except ImportError as exc:
        raise MissingExtraError(
            f"demo data: expected scikit-image (the photos come from its wheel), got "
            f"{exc.name or 'skimage'} not installed; run: {_INSTALL_HINT}"
        ) from exc
    images: list[Image.Image] = []
    for name in _COLOR_SOURCES + _GRAY_SOURCES:
        array = getattr(skdata, name)()
        if isinstance(array, tuple):  # stereo_motorcycle -> (left, right, disparity)
            array = array[0]
        array = np.asarray(array)
        if array.ndim == 2:
            array = np.repeat(array[:, :, None], 3, axis=2)
        images.append(Image.fromarray(np.ascontiguousarray(array[:, :, :3]), mode="RGB"))
    return images


def _rng(seed: int, index: int) -> np.random.Generator:
    # One independent stream per image: output does not depend on thread scheduling.
    return np.random.default_rng(np.random.SeedSequence([seed, index, GENERATOR_VERSION]))


def render_demo_jpeg(sources: Sequence[Image.Image], seed: int, index: int) -> bytes:
    """The JPEG bytes of demo image ``index`` for ``seed`` (deterministic)."""
    rng = _rng(seed, index)
    src = sources[int(rng.integers(len(sources)))]
    out_w, out_h = (int(v) for v in rng.integers(MIN_SIDE, MAX_SIDE + 1, size=2))
    # Crop a region with the output's aspect ratio (no distortion), 35-100% of the largest fit.
    aspect = out_w / out_h
    fit_w = min(src.width, src.height * aspect)
    scale = float(rng.uniform(0.35, 1.0))
    crop_w, crop_h = fit_w * scale, fit_w * scale / aspect
    left = float(rng.uniform(0, src.width - crop_w))
    top = float(rng.uniform(0, src.height - crop_h))
    box = (left, top, left + crop_w, top + crop_h)
    image = src.resize((out_w, out_h), Image.Resampling.BILINEAR, box=box)
    if rng.random() < 0.5:
        image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    # Colour shift: a per-channel gain and a shared brightness offset, applied through a lookup
    # table (cheap, and keeps greyscale sources from all looking alike).
    gains = rng.uniform(0.8, 1.2, size=3)
    offset = float(rng.uniform(-20, 20))
    ramp = np.arange(256, dtype=np.float64)
    lut = np.concatenate([np.clip(ramp * g + offset, 0, 255) for g in gains])
    image = image.point(lut.round().astype(np.uint8).tolist())
    quality = int(rng.integers(MIN_QUALITY, MAX_QUALITY + 1))
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _check_args(n: int, classes: int) -> None:
    if n < 1:
        raise ValueError(f"demo data n: expected at least 1 image, got {n}")
    if classes < 1 or classes > n:
        raise ValueError(f"demo data classes: expected 1..n ({n}), got {classes}")


def make_demo_imagefolder(
    out: str | os.PathLike[str],
    n: int = 2000,
    classes: int = 10,
    seed: int = 0,
    workers: int | None = None,
    on_image: Callable[[], None] | None = None,
) -> Path:
    """Write ``n`` JPEGs as ``out/class_XXX/NNNNN.jpg`` (image ``i`` in class ``i % classes``).

    ``workers`` threads encode in parallel (PIL releases the GIL while resizing and encoding);
    the bytes do not depend on it. ``on_image`` is called (in this thread) after each image.
    Writes a manifest (``.demo-manifest.json``) last.
    """
    _check_args(n, classes)
    root = Path(out)
    sources = _load_sources()
    dirs = [root / f"class_{k:03d}" for k in range(classes)]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)

    def write(index: int) -> int:
        data = render_demo_jpeg(sources, seed, index)
        (dirs[index % classes] / f"{index:05d}.jpg").write_bytes(data)
        return len(data)

    threads = workers or os.cpu_count() or 1
    with ThreadPoolExecutor(max_workers=threads) as pool:
        total_bytes = 0
        for size in pool.map(write, range(n)):
            total_bytes += size
            if on_image is not None:
                on_image()
    manifest = _manifest(n, classes, seed) | {"total_bytes": total_bytes}
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root


def _manifest(n: int, classes: int, seed: int) -> dict[str, Any]:
    return {
        "generator_version": GENERATOR_VERSION,
        "n": n,
        "classes": classes,
        "seed": seed,
    }


def read_manifest(root: str | os.PathLike[str]) -> dict[str, Any] | None:
    """The manifest of a demo folder, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((Path(root) / MANIFEST_NAME).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def demo_cache_path(cache_dir: str | os.PathLike[str], n: int, classes: int, seed: int) -> Path:
    return Path(cache_dir) / f"demo-{n}-{classes}-{seed}"


def cached_demo_imagefolder(
    cache_dir: str | os.PathLike[str] = ".cache",
    n: int = 2000,
    classes: int = 10,
    seed: int = 0,
    workers: int | None = None,
    on_image: Callable[[], None] | None = None,
) -> tuple[Path, bool]:
    """``cache_dir/demo-<n>-<classes>-<seed>``, made once and reused: returns (path, created).

    A folder is reused only when its manifest matches these arguments and the generator version.
    It is built in a temporary sibling and renamed into place, so an interrupted run or a
    concurrent one never leaves a half-written folder that looks complete.
    """
    _check_args(n, classes)
    return _cached(
        demo_cache_path(cache_dir, n, classes, seed),
        _manifest(n, classes, seed),
        lambda tmp: make_demo_imagefolder(
            tmp, n=n, classes=classes, seed=seed, workers=workers, on_image=on_image
        ),
    )


def demo_audio_cache_path(cache_dir: str | os.PathLike[str], n: int, seed: int) -> Path:
    return Path(cache_dir) / f"demo-audio-{n}-{seed}"


def cached_demo_audio(
    cache_dir: str | os.PathLike[str] = ".cache",
    n: int = 200,
    seed: int = 0,
    workers: int | None = None,
    on_file: Callable[[], None] | None = None,
) -> tuple[Path, bool]:
    """``cache_dir/demo-audio-<n>-<seed>`` (:func:`~.demo_audio.make_demo_audio`'s layout, the
    AudioFolder in its ``clips/``), made once and reused like :func:`cached_demo_imagefolder`."""
    from . import demo_audio

    expected = demo_audio._manifest(n, seed, None)
    return _cached(
        demo_audio_cache_path(cache_dir, n, seed),
        expected,
        lambda tmp: demo_audio.make_demo_audio(
            tmp, n=n, seed=seed, workers=workers, on_file=on_file
        ),
    )


def _cached(
    final: Path, expected: dict[str, Any], make: Callable[[Path], object]
) -> tuple[Path, bool]:
    """``final`` when its manifest has ``expected``, else made by ``make`` in a temporary sibling
    and renamed into place: (path, created)."""
    if _is_complete(final, expected):
        return final, False
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        make(tmp)
        if final.exists():
            if _is_complete(final, expected):  # another process finished first
                return final, False
            shutil.rmtree(final)  # stale: older generator or an incomplete folder
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final, True


def _is_complete(root: Path, expected: dict[str, Any]) -> bool:
    manifest = read_manifest(root)
    if manifest is None:
        return False
    return all(manifest.get(key) == value for key, value in expected.items())
