"""Compile a :class:`Plan` to a DALI pipeline: external source -> decode -> ops -> output.

CPU now (``device_id=None``); with CUDA, decoding is "mixed" (nvJPEG) and the ops run on the GPU
while the per-sample argument inputs stay on the CPU, as DALI requires. The first op may fuse with
decoding (ROI decode for crops), and the last may fuse with the output conversion (normalize,
transpose and cast in one ``crop_mirror_normalize``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from ...ops._dali import dali_dtype
from ...ops.base import DaliContext
from ...plan import Plan
from .audio_graph import audio_chain
from .source import BatchSource


@dataclass(frozen=True)
class GraphOptions:
    batch_size: int
    num_threads: int = 2
    device: Literal["cpu", "gpu"] = "cpu"
    device_id: int | None = None
    seed: int = 0
    prefetch_queue_depth: int = 2
    #: A window op (center_crop) before the fused output op is cut by that op's own
    #: crop_mirror_normalize instead of a separate fn.slice (False: separate, for comparisons).
    fuse_windows: bool = True
    #: HWC images as the last op leaves them, no output conversion (sizes may vary per sample):
    #: the DALI segment in front of a Python stage that runs in worker processes.
    raw_output: bool = False


def _decode(encoded: Any, kind: str, *, device: str, color: str, **kwargs: Any) -> Any:
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    decoder = getattr(fn.decoders, kind)
    return decoder(
        encoded,
        device=device,
        output_type=types.RGB if color == "rgb" else types.GRAY,
        # libjpeg's fancy upsampling is what PIL does; DALI's default differs by ~1-2 levels.
        jpeg_fancy_upsampling=True,
        **kwargs,
    )


def _layouts(source: BatchSource) -> dict[str, Any]:
    """``layout`` for the external source when a column is raw (HWC pixels, not bytes)."""
    raw = source.raw_columns
    if not any(raw):
        return {}
    rest = source.num_outputs - len(raw)
    return {"layout": ["HWC" if r else "" for r in raw] + [""] * rest}


def _output(plan: Plan, image: Any, device: str) -> Any:
    """Convert the last op's HWC output to the spec's layout and dtype."""
    import nvidia.dali.fn as fn

    layout = plan.spec.output.layout
    # channels_last is a CHW tensor with HWC memory: DALI emits HWC, torch permutes the view.
    if plan.spec.output.memory_format == "channels_last":
        layout = "HWC"
    out_dtype = plan.spec.output.dtype
    final = plan.final
    if out_dtype == "uint8" and final.dtype == "uint8":
        return fn.transpose(image, perm=[2, 0, 1], device=device) if layout == "CHW" else image
    # crop_mirror_normalize does scale, cast and transpose in one pass.
    scale = 255.0 if final.dtype == "uint8" else 1.0
    if out_dtype == "uint8":  # float in [0, 1] -> uint8, as ToDtype(uint8, scale=True)
        return fn.crop_mirror_normalize(
            image,
            device=device,
            mean=[0.0],
            std=[1.0 / 255.0],
            dtype=dali_dtype("uint8"),
            output_layout=layout,
        )
    return fn.crop_mirror_normalize(
        image,
        device=device,
        mean=[0.0],
        std=[scale],
        dtype=dali_dtype(out_dtype),
        output_layout=layout,
    )


def build_pipeline(plan: Plan, source: BatchSource, options: GraphOptions) -> Any:
    """The DALI pipeline for ``plan`` fed by ``source``.

    Outputs: one processed image per image column of the plan's layout, the labels, features
    and boxes passed through, then the sample indices: (images, labels, indices) for the classic
    layout. Every image column runs the same chain with its own argument inputs (drawn shared
    or per column by the source).
    """
    from nvidia.dali import fn, pipeline_def

    device = options.device
    decode_device = "mixed" if device == "gpu" else "cpu"

    @pipeline_def(
        batch_size=options.batch_size,
        num_threads=options.num_threads,
        device_id=options.device_id,
        seed=options.seed,
        prefetch_queue_depth=options.prefetch_queue_depth,
        exec_dynamic=True,
    )
    def graph() -> tuple[Any, ...]:
        outputs = fn.external_source(
            source=source,
            num_outputs=source.num_outputs,
            batch=True,
            batch_info=True,
            # The source keeps its batches alive while DALI reads them: no copy of the bytes.
            no_copy=True,
            **_layouts(source),
        )
        columns, data = source.columns, source.num_data
        encoded = outputs[:columns]
        passed = outputs[columns : columns + data]
        indices = outputs[columns + data]
        args: list[list[dict[str, Any]]] = [[{} for _ in plan.steps] for _ in encoded]
        for (column, step_index, name), node in zip(source.arg_keys, outputs[columns + data + 1 :]):
            args[column][step_index][name] = node
        if plan.audio:
            pad = plan.layout.images[0].varying != "list"
            at = columns + data + 1 + len(source.arg_keys)
            decode = dict(zip(source.decode_keys, outputs[at:], strict=True))
            audio, lengths = audio_chain(plan, encoded[0], args[0], device, pad, decode)
            return (audio, lengths, *passed, indices)
        raw = source.raw_columns
        images = [
            _chain(
                plan, options, encoded[column], args[column], indices, decode_device, raw[column]
            )
            for column in range(columns)
        ]
        return (*images, *passed, indices)

    return graph()


def _chain(
    plan: Plan,
    options: GraphOptions,
    encoded: Any,
    args: list[dict[str, Any]],
    indices: Any,
    decode_device: str,
    raw: bool = False,
) -> Any:
    """Decode one image column and run the op chain on it. A ``raw`` column arrives as HWC
    pixels in the spec's colour (the feed parsed its npy): no decode, no ROI-decode fusion."""
    device = options.device
    for step in plan.steps:
        if step.op.needs_sample_index:
            args[step.index]["index"] = indices  # a Python stage names a failing sample
    decode = functools.partial(_decode, encoded, device=decode_device, color=plan.spec.decode.color)
    steps = list(plan.steps)
    image = None
    if raw:
        image = encoded.gpu() if device == "gpu" else encoded
    elif steps:
        first = steps[0]
        ctx = DaliContext(device=device, state=first.state_in)
        image = first.op.build_dali_decode(first.params, args[0], ctx, decode)
        if image is not None:
            steps = steps[1:]
    if image is None:
        image = decode("image")
    last_fused = False
    window: Mapping[str, Any] | None = None
    for position, step in enumerate(steps):
        ctx = DaliContext(device=device, state=step.state_in)
        is_last = position == len(steps) - 1
        fused = step.op.fuses_output and _fusable(plan) and not options.raw_output
        if is_last and fused:
            out = plan.spec.output
            layout = "HWC" if out.memory_format == "channels_last" else out.layout
            image = step.op.build_dali_output(
                step.params, image, args[step.index], ctx, layout, out.dtype, window
            )
            last_fused = True
            continue
        if step.index == window_step(plan, options):
            window = step.op.output_window(step.params, args[step.index])
            continue  # the fused output op crops this window in its own pass
        image = step.op.build_dali(step.params, image, args[step.index], ctx)
    if not last_fused and not options.raw_output:
        image = _output(plan, image, device)
    return image


def window_step(plan: Plan, options: GraphOptions) -> int | None:
    """The step whose window the fused output op cuts (it runs no operator of its own)."""
    steps = plan.steps
    if not options.fuse_windows or options.raw_output or len(steps) < 2 or not _fusable(plan):
        return None
    before, last = steps[-2], steps[-1]
    if not last.op.fuses_output or not before.op.output_window_args:
        return None
    # With ROI decoding the first op runs inside the decoder: it cannot be deferred.
    if before.index == 0 and before.op.fuses_decode:
        return None
    return before.index


def used_args(plan: Plan, options: GraphOptions, step_index: int) -> tuple[str, ...]:
    """The arguments of a step the graph reads (DALI warns about inputs nobody reads): a step
    folded into the output op, its window arguments; otherwise all but window-only ones."""
    step = plan.steps[step_index]
    if step_index == window_step(plan, options):
        return tuple(n for n in step.arg_names if n in step.op.output_window_args)
    return tuple(n for n in step.arg_names if n not in step.op.window_only_args)


def _fusable(plan: Plan) -> bool:
    # A fused output op writes the final dtype directly; uint8 output has its own path.
    return plan.spec.output.dtype != "uint8"
