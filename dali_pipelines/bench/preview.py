"""``preview``: K samples x M random draws of a spec as viewable arrays, for a grid by eye.

Draw ``m`` of a sample is epoch ``m`` of the same sample index: the seed policy makes every
draw a pure function of (seed, epoch, index) (:mod:`dali_pipelines.plan.draws`), so the DALI
loader and the reference backend with the same seed show the same draws side by side. The
samples are the dataset's first K, in order (``shuffle=False``). :mod:`.preview_plot` draws the
grid; nothing here imports matplotlib.

Images are un-normalized for viewing: the spec's ``normalize`` undone with its own mean and std
(or a uint8 output scaled by 1/255), then clamped to [0, 1]. Audio becomes the feature matrix
(F, T) or the wave (C, T), each cut to its length.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
from pydantic import Field, field_validator

from .._model import FrozenModel, Int
from ..errors import DaliPipelinesError

log = logging.getLogger("dali_pipelines.bench.preview")

#: The backends a preview can show, in column order within a draw.
PreviewBackend = Literal["dali", "reference"]
TileKind = Literal["image", "features", "wave"]


class PreviewConfig(FrozenModel):
    """What a preview shows; the CLI's options take their defaults and help from here."""

    spec: str = Field(description="strategy name or spec file (.yaml/.json)")
    samples: Int = Field(4, ge=1, le=64, description="samples (rows): the dataset's first K")
    draws: Int = Field(4, ge=1, le=32, description="random draws (columns): epochs 0..M-1")
    seed: Int = Field(0, ge=0, lt=2**63, description="the seed of every draw")
    device: str = Field(
        "cpu", description="where DALI runs: cpu, gpu or cuda (the same), gpu:N or cuda:N"
    )
    reference: bool = Field(
        False, description="also show the reference backend's output on the same draws"
    )
    annotations: Path | None = Field(
        None, description="COCO instances JSON for a spec with a boxes output (--data: images)"
    )

    @field_validator("device")
    @classmethod
    def _device(cls, value: str) -> str:
        from ..loader.config import parse_device

        return parse_device(value)


@dataclass(frozen=True)
class Tile:
    """One sample of one draw, ready to show.

    ``image``: (H, W, C) float32 in [0, 1]; ``features``: (F, T) float32; ``wave``: (C, T).
    """

    kind: TileKind
    data: np.ndarray
    #: (K, 4) x1, y1, x2, y2 in output pixels and their class names (boxes outputs only).
    boxes: np.ndarray | None = None
    box_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class Row:
    """A sample: its file name (the last two path parts) and its label as text."""

    name: str
    label: str


@dataclass(frozen=True)
class Preview:
    """Every tile: ``tiles[backend][draw][row]``."""

    spec_name: str
    fingerprint: str
    rows: tuple[Row, ...]
    draws: int
    backends: tuple[PreviewBackend, ...]
    tiles: dict[str, list[list[Tile]]]
    #: The spec's ops draw nothing at random: every draw is the same.
    random: bool = True
    #: Feature kind (mel, decibels, ...) and sample rate / hop for an audio spec's axes.
    audio: dict[str, Any] = field(default_factory=dict)
    device: str = "cpu"

    @property
    def columns(self) -> list[tuple[int, str]]:
        """(draw, backend) per grid column: the backends of a draw side by side."""
        return [(m, b) for m in range(self.draws) for b in self.backends]


def open_preview_dataset(data: str | os.PathLike[str], spec: Any, annotations: Path | None) -> Any:
    """The dataset of ``data`` as ``spec`` reads it: Prepared for a prepared folder, Coco with
    ``annotations``, an AudioFolder for an audio spec (a demo root read from its clips/), else
    an ImageFolder."""
    from ..data.prepared import Prepared, is_prepared
    from ..plan import make_plan

    if is_prepared(data):  # dali-pipelines prepare's output: its boxes are stored
        if annotations is not None:
            raise DaliPipelinesError(
                f"--annotations: expected none with prepared data, got {annotations}"
            )
        return Prepared(data)
    boxes = make_plan(spec).layout.boxes is not None
    if boxes and annotations is None:
        raise DaliPipelinesError(
            "--annotations: expected the COCO instances JSON of --data's images for a spec "
            "with a boxes output, got none"
        )
    if annotations is not None:
        if spec.modality == "audio":
            raise DaliPipelinesError(
                "--annotations: expected none for an audio spec, got " + str(annotations)
            )
        from ..data.coco import Coco

        return Coco(annotations, data)
    from .audio import open_dataset

    return open_dataset(data, spec)


def collect_preview(data: str | os.PathLike[str], config: PreviewConfig) -> Preview:
    """Run the spec on the first ``config.samples`` samples, once per draw and backend."""
    from ..plan import make_plan
    from ..spec import load_spec

    spec = load_spec(config.spec)
    dataset = open_preview_dataset(data, spec, config.annotations)
    k = min(config.samples, len(dataset))
    if k < config.samples:
        log.warning("--samples %d: the data holds %d samples; showing %d", config.samples, k, k)
    plan = make_plan(spec)
    backends: tuple[PreviewBackend, ...] = ("dali", "reference") if config.reference else ("dali",)
    tiles: dict[str, list[list[Tile]]] = {
        b: list(_draws(dataset, spec, plan, config, b, k)) for b in backends
    }
    name = spec.name or Path(config.spec).stem
    return Preview(
        spec_name=name,
        fingerprint=spec.fingerprint,
        rows=tuple(_row(dataset, i) for i in range(k)),
        draws=config.draws,
        backends=backends,
        tiles=tiles,
        random=plan.random,
        audio=_audio_axes(plan),
        device=config.device,
    )


def _draws(
    dataset: Any, spec: Any, plan: Any, config: PreviewConfig, backend: PreviewBackend, k: int
) -> Iterator[list[Tile]]:
    """The K tiles of each draw m: epoch m of a loader over the first K samples, in order."""
    from ..loader import DataLoader

    # A classic spec whose size varies per sample cannot batch: one sample a batch then.
    varies = not plan.audio and plan.layout.classic and plan.output.fixed_size is None
    batch = 1 if varies else k
    with DataLoader(
        dataset,
        spec,
        batch_size=batch,
        seed=config.seed,
        device=config.device,
        backend=backend,
        num_threads=1,
        prefetch_queue_depth=1,
        as_dict=True,
    ) as loader:
        names = _class_names(dataset)
        for epoch in range(config.draws):
            loader.set_epoch(epoch)
            found: list[Tile] = []
            for batch_dict in loader:
                found.extend(batch_tiles(batch_dict, plan, names))
                if len(found) >= k:
                    break
            yield found[:k]


def _class_names(dataset: Any) -> list[str]:
    return [str(c) for c in getattr(dataset, "classes", [])]


def _row(dataset: Any, index: int) -> Row:
    path = Path(dataset.path(index))
    name = "/".join(path.parts[-2:])
    label = int(dataset.label(index))
    names = _class_names(dataset)
    if label < 0:  # detection samples have no image-level label
        count = len(dataset.boxes(index)[0]) if hasattr(dataset, "boxes") else 0
        return Row(name, f"{count} box{'es' if count != 1 else ''}")
    text = f"label {label}"
    return Row(name, f"{text} ({names[label]})" if label < len(names) else text)


def _audio_axes(plan: Any) -> dict[str, Any]:
    if not plan.audio:
        return {}
    out = plan.output
    hop = out.frames.hop if out.frames is not None else None
    normalized = any(step.op.name == "utterance_norm" for step in plan.steps)
    bins = f"{out.bins} bins ({out.kind})" if out.bins else out.kind
    return {
        "kind": out.kind,
        "sample_rate": int(out.sample_rate),
        "hop": hop,
        "bins": bins,
        "normalized": normalized,
    }


def batch_tiles(batch: dict[str, Any], plan: Any, class_names: list[str]) -> list[Tile]:
    """The batch's samples as tiles (its first image column, or its audio)."""
    slots = {slot.kind: slot.name for slot in reversed(plan.layout.slots)}  # first of a kind
    if plan.audio:
        return _audio_tiles(batch[slots["audio"]], batch[slots["lengths"]], plan)
    images = _per_sample(batch[slots["image"]])
    sizes = batch.get(slots.get("image_sizes", ""))
    tiles = []
    for i, image in enumerate(images):
        hwc = _viewable(image, plan)
        if sizes is not None:
            h, w = (int(v) for v in sizes[i])
            hwc = hwc[:h, :w]
        boxes, box_names = _sample_boxes(batch, slots, i, class_names)
        tiles.append(Tile("image", hwc, boxes, box_names))
    return tiles


def _per_sample(value: Any) -> list[np.ndarray]:
    """A batch tensor (N, ...) or a list of per-sample tensors as float32 numpy arrays."""
    samples = list(value) if isinstance(value, list | tuple) else list(value.unbind(0))
    return [s.detach().float().cpu().numpy() for s in samples]


def _viewable(image: np.ndarray, plan: Any) -> np.ndarray:
    """One output image as (H, W, C) in [0, 1]: layout to HWC, normalize undone, clamped."""
    hwc = image if plan.spec.output.layout == "HWC" else np.transpose(image, (1, 2, 0))
    hwc = hwc.astype(np.float32, copy=True)
    state = plan.output
    if state.normalized:
        mean, std = _normalize_params(plan, hwc.shape[-1])
        hwc = hwc * std + mean
    elif state.value_range[1] > 1.0:  # uint8 (or float on the 0..255 scale)
        hwc = hwc / 255.0
    return np.clip(hwc, 0.0, 1.0)


def _normalize_params(plan: Any, channels: int) -> tuple[np.ndarray, np.ndarray]:
    """The spec's normalize mean and std per channel (on the [0, 1] scale)."""
    for step in plan.steps:
        if step.op.name == "normalize":
            mean, std = (
                np.resize(np.asarray(v, np.float32), channels)  # one value: every channel
                for v in (step.params.mean, step.params.std)
            )
            return mean, std
    raise DaliPipelinesError("spec.ops: expected a normalize op in a normalized output, got none")


def _sample_boxes(
    batch: dict[str, Any], slots: dict[str, str], i: int, class_names: list[str]
) -> tuple[np.ndarray | None, tuple[str, ...]]:
    if "boxes" not in slots:
        return None, ()
    boxes = batch[slots["boxes"]][i].detach().cpu().numpy().reshape(-1, 4)
    labels = batch[slots["box_labels"]][i].detach().cpu().numpy().reshape(-1)
    if "counts" in slots:
        count = int(batch[slots["counts"]][i])
        boxes, labels = boxes[:count], labels[:count]
    names = tuple(
        class_names[int(v)] if 0 <= int(v) < len(class_names) else str(int(v)) for v in labels
    )
    return boxes, names


def _audio_tiles(audio: Any, lengths: Any, plan: Any) -> list[Tile]:
    kind: TileKind = "wave" if plan.output.is_wave else "features"
    return [
        Tile(kind, sample[:, : int(length)])
        for sample, length in zip(_per_sample(audio), lengths.tolist())
    ]


def draws_differ(preview: Preview, backend: str = "dali") -> bool:
    """Some sample differs between two of its draws (False: the draws are all alike)."""
    draws = preview.tiles[backend]
    for row in range(len(preview.rows)):
        first = draws[0][row].data
        if any(
            d[row].data.shape != first.shape or not np.array_equal(d[row].data, first)
            for d in draws[1:]
        ):
            return True
    return False
