"""The large-photo demo set: an ImageFolder of 1,500-3,000 px JPEGs, like phone photos.

The small demo set (:mod:`.demo`, 300-700 px) shows the loaders' speed where decoding is cheap;
real data sets often hold 1-12 MP photos, where the full-size decode is the ceiling. This set is
made offline from the same scikit-image photos (at most 1,411 px), so it has to be upscaled:

- each image is a grid of 1x1, 1x2, 2x1 or 2x2 tiles (mostly one tile); each tile is a random crop
  (40-100% of the largest fit at the tile's aspect ratio) of a random bundled photo, resized to
  the tile with Lanczos and mirrored at random;
- a per-channel gain and brightness offset (as in the small set), then mild Gaussian luma noise
  (sigma 2-5 grey levels) so that the upscaled, smooth content carries sensor-like fine detail
  and the entropy-coded size is closer to a real photo's (about 1-2 bits a pixel);
- JPEG quality 90 (4:2:0, the camera default) by default.

Every image is a pure function of ``(seed, index)`` and the arguments, so the same arguments
give byte-identical files whatever the thread count; :func:`cached_large_demo` keeps one.
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from .demo import MANIFEST_NAME, _cached, _check_args, _load_sources

#: Bump when the output changes, so cached folders made by an older generator are rebuilt.
LARGE_GENERATOR_VERSION = 1
LARGE_MIN_SIDE, LARGE_MAX_SIDE = 1500, 3000
LARGE_QUALITY = 90
_GRIDS = ((1, 1), (1, 2), (2, 1), (2, 2))
_GRID_P = (0.55, 0.15, 0.15, 0.15)


def _rng(seed: int, index: int) -> np.random.Generator:
    # Its own stream (tagged "large") so it never repeats the small set's draws.
    key = [seed, index, LARGE_GENERATOR_VERSION, 0x1A26E]
    return np.random.default_rng(np.random.SeedSequence(key))


def _tile(sources: Sequence[Image.Image], rng: np.random.Generator, w: int, h: int) -> Image.Image:
    src = sources[int(rng.integers(len(sources)))]
    aspect = w / h
    fit_w = min(src.width, src.height * aspect)
    scale = float(rng.uniform(0.4, 1.0))
    crop_w, crop_h = fit_w * scale, fit_w * scale / aspect
    left = float(rng.uniform(0, src.width - crop_w))
    top = float(rng.uniform(0, src.height - crop_h))
    tile = src.resize(
        (w, h), Image.Resampling.LANCZOS, box=(left, top, left + crop_w, top + crop_h)
    )
    if rng.random() < 0.5:
        tile = tile.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return tile


def _canvas(
    sources: Sequence[Image.Image], rng: np.random.Generator, out_w: int, out_h: int
) -> Image.Image:
    rows, cols = _GRIDS[int(rng.choice(len(_GRIDS), p=_GRID_P))]
    xs = [out_w * c // cols for c in range(cols + 1)]
    ys = [out_h * r // rows for r in range(rows + 1)]
    canvas = Image.new("RGB", (out_w, out_h))
    for r in range(rows):
        for c in range(cols):
            tile = _tile(sources, rng, xs[c + 1] - xs[c], ys[r + 1] - ys[r])
            canvas.paste(tile, (xs[c], ys[r]))
    return canvas


def render_large_jpeg(
    sources: Sequence[Image.Image],
    seed: int,
    index: int,
    min_side: int = LARGE_MIN_SIDE,
    max_side: int = LARGE_MAX_SIDE,
    quality: int = LARGE_QUALITY,
) -> bytes:
    """The JPEG bytes of large demo image ``index`` for ``seed`` (deterministic)."""
    rng = _rng(seed, index)
    out_w, out_h = (int(v) for v in rng.integers(min_side, max_side + 1, size=2))
    image = _canvas(sources, rng, out_w, out_h)
    gains = rng.uniform(0.8, 1.2, size=3)
    offset = float(rng.uniform(-20, 20))
    ramp = np.arange(256, dtype=np.float64)
    lut = np.concatenate([np.clip(ramp * g + offset, 0, 255) for g in gains])
    image = image.point(lut.round().astype(np.uint8).tolist())
    sigma = float(rng.uniform(2.0, 5.0))
    noise = rng.standard_normal((out_h, out_w), dtype=np.float32) * sigma
    pixels = np.asarray(image, dtype=np.int16) + np.rint(noise).astype(np.int16)[:, :, None]
    image = Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), mode="RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def _check_sides(min_side: int, max_side: int, quality: int) -> None:
    if not 16 <= min_side <= max_side:
        raise ValueError(
            f"large demo sides: expected 16 <= min_side <= max_side, got {min_side}, {max_side}"
        )
    if not 1 <= quality <= 95:
        raise ValueError(f"large demo quality: expected 1..95, got {quality}")


def _manifest(
    n: int, classes: int, seed: int, min_side: int, max_side: int, quality: int
) -> dict[str, Any]:
    return {
        "kind": "large",
        "generator_version": LARGE_GENERATOR_VERSION,
        "n": n,
        "classes": classes,
        "seed": seed,
        "min_side": min_side,
        "max_side": max_side,
        "quality": quality,
    }


def make_large_demo(
    out: str | os.PathLike[str],
    n: int = 300,
    classes: int = 10,
    seed: int = 0,
    min_side: int = LARGE_MIN_SIDE,
    max_side: int = LARGE_MAX_SIDE,
    quality: int = LARGE_QUALITY,
    workers: int | None = None,
    on_image: Callable[[], None] | None = None,
) -> Path:
    """Write ``n`` large JPEGs as ``out/class_XXX/NNNNN.jpg`` (image ``i`` in class ``i % k``).

    The layout, the manifest (written last) and the threading are those of
    :func:`~.demo.make_demo_imagefolder`; the bytes do not depend on ``workers``.
    """
    _check_args(n, classes)
    _check_sides(min_side, max_side, quality)
    root = Path(out)
    sources = _load_sources()
    dirs = [root / f"class_{k:03d}" for k in range(classes)]
    for d in dirs:
        d.mkdir(parents=True, exist_ok=True)

    def write(index: int) -> int:
        data = render_large_jpeg(sources, seed, index, min_side, max_side, quality)
        (dirs[index % classes] / f"{index:05d}.jpg").write_bytes(data)
        return len(data)

    total_bytes = 0
    with ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1) as pool:
        for size in pool.map(write, range(n)):
            total_bytes += size
            if on_image is not None:
                on_image()
    manifest = _manifest(n, classes, seed, min_side, max_side, quality)
    manifest["total_bytes"] = total_bytes
    (root / MANIFEST_NAME).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return root


def large_demo_cache_path(
    cache_dir: str | os.PathLike[str], n: int, classes: int, seed: int
) -> Path:
    return Path(cache_dir) / f"demo-large-{n}-{classes}-{seed}"


def cached_large_demo(
    cache_dir: str | os.PathLike[str] = ".cache",
    n: int = 300,
    classes: int = 10,
    seed: int = 0,
    workers: int | None = None,
    on_image: Callable[[], None] | None = None,
) -> tuple[Path, bool]:
    """``cache_dir/demo-large-<n>-<classes>-<seed>`` at the default sides and quality, made once
    and reused like :func:`~.demo.cached_demo_imagefolder`: returns (path, created)."""
    _check_args(n, classes)
    expected = _manifest(n, classes, seed, LARGE_MIN_SIDE, LARGE_MAX_SIDE, LARGE_QUALITY)
    return _cached(
        large_demo_cache_path(cache_dir, n, classes, seed),
        expected,
        lambda tmp: make_large_demo(
            tmp, n=n, classes=classes, seed=seed, workers=workers, on_image=on_image
        ),
    )
