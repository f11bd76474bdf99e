"""The preview grid: K samples (rows) x M draws (columns, backends side by side) as one PNG.

Drawn with matplotlib's object API on an Agg canvas (no pyplot), as :mod:`.plot` is. Images
show as they would reach the model, un-normalized; boxes as outlines with their class; audio
features as (F, T) images on one shared colour scale (one colorbar), waves as lines.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from .preview import Preview, Tile

#: Inches per tile (width, height) and around the grid; the PNG is this at :data:`DPI`.
IMAGE_TILE = (2.0, 2.0)
AUDIO_TILE = (2.8, 1.7)
MARGIN = (1.4, 1.0)  # row labels at the left; title and headers at the top
COLORBAR = 0.9
DPI = 100
BACKEND_LABELS = {"dali": "DALI", "reference": "reference"}
_BOX_COLOR = "#ffdd00"
_AUDIO_LABELS = {
    "spectrogram": "magnitude",
    "mel": "mel energy",
    "decibels": "dB",
    "mfcc": "MFCC",
}


def figure_size(preview: Preview) -> tuple[float, float]:
    """The figure's (width, height) in inches: its tiles plus the margins (and a colorbar)."""
    audio = bool(preview.audio)
    tile_w, tile_h = AUDIO_TILE if audio else IMAGE_TILE
    features = audio and preview.audio.get("kind") != "wave"
    width = MARGIN[0] + tile_w * len(preview.columns) + (COLORBAR if features else 0.0)
    return width, MARGIN[1] + tile_h * len(preview.rows)


def title(preview: Preview) -> str:
    return f"dali-pipelines preview: {preview.spec_name} (fingerprint {preview.fingerprint})"


def subtitle(preview: Preview) -> str:
    backends = " vs ".join(BACKEND_LABELS[b] for b in preview.backends)
    if not preview.audio:
        shown = "images un-normalized for viewing, clamped to [0, 1]"
    elif preview.audio.get("kind") == "wave":
        shown = "waves over seconds, each cut to its length"
    else:
        shown = f"features: {preview.audio.get('bins')} (y) over seconds, each cut to its length"
    note = "" if preview.random else "; the spec draws nothing at random: every draw is alike"
    return (
        f"{backends} on {preview.device}, {len(preview.rows)} samples x {preview.draws} draws "
        f"(draw m = epoch m, same seed and sample index); {shown}{note}"
    )


def render_preview(preview: Preview) -> Any:
    """The grid as a matplotlib ``Figure`` (with an Agg canvas); :func:`write_preview` saves it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=figure_size(preview), layout="constrained", dpi=DPI)
    FigureCanvasAgg(fig)
    columns = preview.columns
    axes = fig.subplots(len(preview.rows), len(columns), squeeze=False)
    scale = _feature_scale(preview)
    seconds = _longest_seconds(preview)
    image = None
    for r, row in enumerate(preview.rows):
        for c, (draw, backend) in enumerate(columns):
            ax = axes[r][c]
            tile = preview.tiles[backend][draw][r]
            image = _draw_tile(ax, tile, preview, scale) or image
            if tile.kind != "image":  # one time axis: shorter clips end early
                ax.set_xlim(0.0, seconds)
            _axis_labels(ax, tile, preview, bottom=r == len(preview.rows) - 1, first=c == 0)
            if r == 0:
                suffix = f" · {BACKEND_LABELS[backend]}" if len(preview.backends) > 1 else ""
                ax.set_title(f"draw {draw}{suffix}", fontsize=9)
            if c == 0:
                ax.set_ylabel(f"{row.name}\n{row.label}", fontsize=8)
    if image is not None:
        fig.colorbar(
            image, ax=axes, shrink=0.8, fraction=0.03, pad=0.01, label=_colorbar_label(preview)
        )
    fig.suptitle(f"{title(preview)}\n{subtitle(preview)}", fontsize=9)
    return fig


def write_preview(preview: Preview, path: str | os.PathLike[str]) -> Path:
    """Render and save the grid as a PNG of :func:`figure_size` x :data:`DPI` pixels."""
    fig = render_preview(preview)
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(target, dpi=DPI)
    return target


def _colorbar_label(preview: Preview) -> str:
    kind = str(preview.audio.get("kind", ""))
    label = _AUDIO_LABELS.get(kind, kind)
    if preview.audio.get("normalized"):
        label += ", normalized per bin"
    return label


def _feature_scale(preview: Preview) -> tuple[float, float]:
    """One colour scale for every feature tile (1st to 99th percentile), so tiles compare."""
    values = [
        t.data.ravel()
        for draws in preview.tiles.values()
        for tiles in draws
        for t in tiles
        if t.kind == "features" and t.data.size
    ]
    if not values:
        return (0.0, 1.0)
    lo, hi = np.percentile(np.concatenate(values), [1, 99])
    return float(lo), float(max(hi, lo + 1e-6))


def _draw_tile(ax: Any, tile: Tile, preview: Preview, scale: tuple[float, float]) -> Any:
    """Draw one tile; returns the image of a features tile (for the colorbar)."""
    if tile.kind == "image":
        data = tile.data
        if data.shape[-1] == 1:
            ax.imshow(data[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
        else:
            ax.imshow(data[..., :3])
        _draw_boxes(ax, tile)
        return None
    seconds = _seconds_per_unit(preview)
    if tile.kind == "features":
        bins, frames = tile.data.shape
        extent = (0.0, max(frames, 1) * seconds, 0.0, float(bins))
        return ax.imshow(
            tile.data,
            origin="lower",
            aspect="auto",
            cmap="magma",
            vmin=scale[0],
            vmax=scale[1],
            extent=extent,
            interpolation="nearest",
        )
    times = np.arange(tile.data.shape[-1]) * seconds
    for channel in tile.data:
        ax.plot(times, channel, linewidth=0.5)
    ax.set_ylim(-1.05, 1.05)
    return None


def _longest_seconds(preview: Preview) -> float:
    """The longest audio tile in seconds (every audio tile shares this time axis)."""
    units = [t.data.shape[-1] for draws in preview.tiles.values() for ts in draws for t in ts]
    return max(max(units, default=1), 1) * _seconds_per_unit(preview)


def _seconds_per_unit(preview: Preview) -> float:
    """Seconds per frame (features) or per sample (waves)."""
    rate = float(preview.audio.get("sample_rate") or 1)
    hop = preview.audio.get("hop")
    return (hop or 1) / rate


def _draw_boxes(ax: Any, tile: Tile) -> None:
    from matplotlib.patches import Rectangle

    if tile.boxes is None:
        return
    for (x1, y1, x2, y2), name in zip(tile.boxes.tolist(), tile.box_names):
        ax.add_patch(
            Rectangle((x1, y1), x2 - x1, y2 - y1, fill=False, edgecolor=_BOX_COLOR, linewidth=1.2)
        )
        ax.text(x1, y1, name, color="black", fontsize=6, va="bottom", backgroundcolor=_BOX_COLOR)


def _axis_labels(ax: Any, tile: Tile, preview: Preview, *, bottom: bool, first: bool) -> None:
    """Images: no ticks. Audio: seconds on the bottom row, bins or amplitude on the first
    column (under the row label), small tick labels elsewhere hidden."""
    if tile.kind == "image":
        ax.set_xticks([])
        ax.set_yticks([])
        return
    ax.tick_params(labelsize=6)
    if bottom:
        ax.set_xlabel("seconds", fontsize=7)
    else:
        ax.tick_params(labelbottom=False)
    if not first:
        ax.tick_params(labelleft=False)
