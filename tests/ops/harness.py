"""Run ops through a real DALI CPU pipeline and through ``apply_torch`` with the same drawn args.

Images are HWC uint8 numpy arrays (DALI must be fed numpy on a host without CUDA). Each op's args
are drawn in Python once, per sample and in chain order, then fed to DALI as separate
``external_source`` outputs and handed to ``apply_torch``: both sides see identical parameters.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from dali_pipelines.ops import DaliContext, ImageState, get_op
from dali_pipelines.ops.base import Args, Op, OpParams, Size

Chain = Sequence[tuple[Op[Any], OpParams]]


def resolve(chain: Sequence[dict[str, Any]]) -> list[tuple[Op[Any], OpParams]]:
    """Param dicts -> (op, validated params)."""
    out = []
    for entry in chain:
        op = get_op(entry["op"])
        out.append((op, op.Params.model_validate(entry)))
    return out


def make_image(size: Size, channels: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth (gradients + a blob) with mild noise: interpolation differences stay realistic."""
    h, w = size
    y, x = np.mgrid[0:h, 0:w].astype(np.float64)
    planes = []
    for c in range(channels):
        fy, fx = rng.uniform(0.5, 2.0, size=2)
        cy, cx = rng.uniform(0.2, 0.8) * h, rng.uniform(0.2, 0.8) * w
        blob = np.exp(-(((y - cy) / (0.3 * h)) ** 2 + ((x - cx) / (0.3 * w)) ** 2))
        plane = 0.35 * (y / h * fy + x / w * fx) / 2 + 0.55 * blob + 0.05 * c
        planes.append(plane)
    img = np.stack(planes, axis=-1) * 255 + rng.normal(0, 3, size=(h, w, channels))
    return np.clip(img, 0, 255).astype(np.uint8)


def make_images(sizes: Sequence[Size], channels: int = 3, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [make_image(s, channels, rng) for s in sizes]


def encode(image: np.ndarray, kind: str = "png") -> np.ndarray:
    from PIL import Image

    buf = io.BytesIO()
    pil = Image.fromarray(image[..., 0] if image.shape[2] == 1 else image)
    pil.save(buf, format=kind.upper(), **({"quality": 90} if kind == "jpeg" else {}))
    return np.frombuffer(buf.getvalue(), dtype=np.uint8)


def infer_states(chain: Chain, first: ImageState) -> list[ImageState]:
    """The state before each op, then the final one (len(chain) + 1 states)."""
    states = [first]
    for op, p in chain:
        states.append(op.infer(p, states[-1]))
    return states


def input_state(images: Sequence[np.ndarray]) -> ImageState:
    sizes = {img.shape[:2] for img in images}
    h, w = next(iter(sizes)) if len(sizes) == 1 else (None, None)
    return ImageState(channels=images[0].shape[2], height=h, width=w)


def draw_all(
    chain: Chain, images: Sequence[np.ndarray], seed: int
) -> tuple[list[list[Args]], list[Size]]:
    """args[sample][op], drawn along the chain with one generator per sample, and the final
    output size each sample's draws announced."""
    out, sizes = [], []
    for index, img in enumerate(images):
        rng = np.random.default_rng([seed, index])
        size: Size = img.shape[:2]
        per_op = []
        for op, p in chain:
            args, size = op.draw(p, size, rng)
            per_op.append(args)
        out.append(per_op)
        sizes.append(size)
    return out, sizes


def run_dali(
    chain: Chain,
    images: Sequence[np.ndarray],
    args: Sequence[Sequence[Args]],
    *,
    fused: bool = False,
    encoding: str | None = None,
) -> list[np.ndarray]:
    """One batch through a DALI CPU pipeline.

    ``encoding`` ("png" or "jpeg") feeds encoded bytes that DALI decodes first; ``fused`` then
    hands them to the first op's ``build_dali_decode`` instead (PNG by default).
    """
    import nvidia.dali.fn as fn
    from nvidia.dali import pipeline_def

    states = infer_states(chain, input_state(images))
    # Each op runs as its own operator here: its output-window arguments are not read.
    names = [
        (i, name)
        for i, (op, p) in enumerate(chain)
        for name in op.arg_names(p)
        if name not in op.window_only_args
    ]
    channels = images[0].shape[2]
    encoding = encoding or ("png" if fused else None)
    first = [encode(img, encoding) for img in images] if encoding else list(images)
    # np.array, not np.ascontiguousarray (which makes 0-d arrays 1-d): the same shapes as the
    # loader feeds.
    batches = [first] + [[np.array(a[i][k], order="C") for a in args] for i, k in names]
    # Ops that report failures by sample (Python stages) get the indices the loader feeds.
    wants_index = any(op.needs_sample_index for op, _ in chain)
    if wants_index:
        batches.append([np.array(i, dtype=np.int64) for i in range(len(images))])

    @pipeline_def(batch_size=len(images), num_threads=2, device_id=None, prefetch_queue_depth=1)
    def pipe() -> Any:
        nodes = fn.external_source(
            source=lambda: batches,
            num_outputs=len(batches),
            layout=["" if encoding else "HWC"] + [""] * (len(batches) - 1),
            batch=True,
        )
        image = nodes[0]
        decode = _decoder(image, channels)
        if encoding and not fused:
            image = decode("image")
        op_args: list[dict[str, Any]] = [{} for _ in chain]
        for (i, name), node in zip(names, nodes[1 : 1 + len(names)], strict=True):
            op_args[i][name] = node
        for i, (op, _) in enumerate(chain):
            if op.needs_sample_index:
                op_args[i]["index"] = nodes[-1]
        for i, (op, p) in enumerate(chain):
            ctx = DaliContext(device="cpu", state=states[i])
            if i == 0 and fused:
                image = op.build_dali_decode(p, op_args[i], ctx, decode)
                assert image is not None, f"{op.name} has no fused decode"
            else:
                image = op.build_dali(p, image, op_args[i], ctx)
        return image

    p = pipe()
    (out,) = p.run()
    return [np.array(out[i]) for i in range(len(images))]


def _decoder(encoded: Any, channels: int) -> Any:
    """The ``decode(kind, **kw)`` hook a backend hands to ``build_dali_decode``."""
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    out_type = types.RGB if channels == 3 else types.GRAY

    def decode(kind: str, **kw: Any) -> Any:
        return getattr(fn.decoders, kind)(encoded, device="cpu", output_type=out_type, **kw)

    return decode


def to_chw(image: np.ndarray) -> torch.Tensor:
    # A view sharing memory: an apply_torch that writes in place would show up in the input.
    return torch.from_numpy(image).permute(2, 0, 1)


def to_hwc(tensor: torch.Tensor) -> np.ndarray:
    t = tensor.permute(1, 2, 0)
    if t.dtype == torch.bfloat16:
        t = t.float()
    return t.contiguous().numpy()


def run_torch(
    chain: Chain, images: Sequence[np.ndarray], args: Sequence[Sequence[Args]]
) -> list[np.ndarray]:
    outs = []
    for img, per_op in zip(images, args, strict=True):
        t = to_chw(img)
        for (op, p), a in zip(chain, per_op, strict=True):
            t = op.apply_torch(p, t, a)
        outs.append(to_hwc(t))
    return outs


def run_torchvision(chain: Chain, images: Sequence[np.ndarray]) -> list[np.ndarray]:
    """The honest reference: the real torchvision v2 transforms (deterministic chains only)."""
    from torchvision import tv_tensors
    from torchvision.transforms import v2

    transform = v2.Compose([op.torchvision(p) for op, p in chain])
    return [
        to_hwc(transform(tv_tensors.Image(to_chw(img))).as_subclass(torch.Tensor)) for img in images
    ]


@dataclass(frozen=True)
class Diff:
    max_abs: float
    mean_abs: float

    def within(self, max_abs: float, mean_abs: float) -> bool:
        return self.max_abs <= max_abs and self.mean_abs <= mean_abs


def diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> Diff:
    """Largest per-pixel and mean absolute difference over a batch (shapes must match)."""
    maxes, total, count = [], 0.0, 0
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape, f"shape {x.shape} != {y.shape}"
        d = np.abs(x.astype(np.float64) - y.astype(np.float64))
        maxes.append(float(d.max()) if d.size else 0.0)
        total += float(d.sum())
        count += d.size
    return Diff(max(maxes), total / max(count, 1))


def check_state(state: ImageState, outputs: Sequence[np.ndarray], who: str) -> None:
    """The observed outputs are what the shape rule said: channels, size, dtype, value range."""
    np_dtype = {"uint8": np.uint8, "float32": np.float32, "float16": np.float16}
    for out in outputs:
        assert out.ndim == 3, f"{who}: expected HWC, got shape {out.shape}"
        assert out.shape[2] == state.channels, f"{who}: channels {out.shape[2]} != {state}"
        if state.height is not None:
            assert out.shape[:2] == (state.height, state.width), f"{who}: {out.shape} vs {state}"
        expected = np_dtype.get(state.dtype, np.float32)  # bfloat16 -> float32 in DALI/numpy
        if who == "torch" and state.dtype == "bfloat16":
            expected = np.float32  # to_hwc widened it for numpy
        assert out.dtype == expected, f"{who}: dtype {out.dtype} != {state.dtype}"
        lo, hi = state.value_range
        slack = 1e-3 * max(1.0, hi - lo)
        assert out.min() >= lo - slack and out.max() <= hi + slack, (
            f"{who}: values [{out.min()}, {out.max()}] outside {state.value_range}"
        )
