"""The audio chain of a DALI pipeline: decode + resample, the audio ops, the batch output.

``fn.decoders.audio`` decodes WAV/FLAC/OGG on the CPU and resamples to the spec's rate in the
same operator (it has no GPU form; with a GPU the ops after it run there). The output is each
sample as (C, T) or (F, T'), then, for the ``pad`` policy, the batch padded with zeros to its
longest sample by ``fn.pad`` so it reaches torch as one dense tensor without a copy, and every
sample's true length (from ``fn.shapes`` before padding) as a second output.
"""

from __future__ import annotations

from typing import Any

from ...ops._dali import dali_dtype
from ...ops.base import DaliContext
from ...plan import Plan


def decode_audio(encoded: Any, plan: Plan) -> Any:
    """Samples at the spec's rate: (T,) when downmixed to mono, (T, C) otherwise."""
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    audio = plan.spec.audio
    assert audio is not None
    samples, _rate = fn.decoders.audio(
        encoded,
        device="cpu",
        dtype=types.FLOAT,
        # One channel kept is a downmix too: a mono wave is always (T,) in the graph.
        downmix=audio.out_channels == 1,
        sample_rate=float(audio.sample_rate),
    )
    return samples


def audio_chain(
    plan: Plan, encoded: Any, args: list[dict[str, Any]], device: str, pad: bool
) -> tuple[Any, Any]:
    """The processed audio column and its per-sample lengths (int64 (1,) per sample)."""
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    node = decode_audio(encoded, plan)
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

