"""The audio chain of a DALI pipeline: decode + resample, the audio ops, the batch output.

``fn.decoders.audio`` decodes WAV/FLAC/OGG on the CPU and resamples to the spec's rate in the
same operator (it has no GPU form; with a GPU the ops after it run there). The output is each
sample as (C, T) or (F, T'), then, for the ``pad`` policy, the batch padded with zeros to its
longest sample by ``fn.pad`` so it reaches torch as one dense tensor without a copy, and every
sample's true length (from ``fn.shapes`` before padding) as a second output.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from ...ops._dali import dali_dtype
from ...ops.audio._resampling import RESAMPLE_ARGS, build_resample, resample_args
from ...ops.base import Args, DaliContext
from ...plan import Plan

#: The decode's per-sample inputs with ``antialias``: the file's rate and the resampling windows.
DECODE_ARGS = ("in_rate", *RESAMPLE_ARGS)


def decode_args(native: tuple[int, int], rate: int) -> Args:
    """The per-sample inputs resampling a file of ``native`` (frames, rate) to ``rate``."""
    frames, native_rate = native
    args = resample_args(frames, native_rate, rate)
    args["in_rate"] = np.array(native_rate, dtype=np.float32)
    return args


def decode_audio(encoded: Any, plan: Plan, decode: Mapping[str, Any]) -> Any:
    """Samples at the spec's rate: (T,) when downmixed to mono, (T, C) otherwise.

    ``fn.decoders.audio`` resamples without a low-pass filter (what it folds back is measured in
    docs/audio.md): with ``antialias`` (``decode`` holds the per-sample inputs) the file is
    decoded at its own rate and resampled by the band-limited chain the ``resample`` op uses.
    """
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    audio = plan.spec.audio
    assert audio is not None
    # One channel kept is a downmix too: a mono wave is always (T,) in the graph.
    downmix = audio.out_channels == 1
    if not decode:
        samples, _rate = fn.decoders.audio(
            encoded,
            device="cpu",
            dtype=types.FLOAT,
            downmix=downmix,
            sample_rate=float(audio.sample_rate),
        )
        return samples
    samples, _rate = fn.decoders.audio(encoded, device="cpu", dtype=types.FLOAT, downmix=downmix)
    rate = float(audio.sample_rate)
    return build_resample(samples, decode, decode["in_rate"], rate, audio.out_channels, "cpu")


def audio_chain(
    plan: Plan,
    encoded: Any,
    args: list[dict[str, Any]],
    device: str,
    pad: bool,
    decode: Mapping[str, Any],
) -> tuple[Any, Any]:
    """The processed audio column and its per-sample lengths (int64 (1,) per sample)."""
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    node = decode_audio(encoded, plan, decode)
    if device == "gpu":
        node = node.gpu()
    for step in plan.steps:
        ctx = DaliContext(device=device, state=step.state_in)  # type: ignore[arg-type]
        node = step.op.build_dali(step.params, node, args[step.index], ctx)
    final = plan.final
    if final.is_wave:
        # (T,) -> (1, T); (T, C) -> (C, T): channels first, as torchaudio has them.
        if final.channels == 1:
            node = fn.expand_dims(node, axes=[0], device=device)
        else:
            node = fn.transpose(node, perm=[1, 0], device=device)
    lengths = fn.slice(node.shape(dtype=types.INT64), start=[1], shape=[1], axes=[0])
    out_dtype = plan.spec.output.dtype
    if out_dtype == "float16":
        node = fn.cast(node, dtype=dali_dtype("float16"), device=device)
    if pad:
        node = fn.pad(node, axes=[1], fill_value=0.0, device=device)
    return node, lengths
