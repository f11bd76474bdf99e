"""The reference backend's audio: soundfile decode, soxr resampling, each op's ``reference``.

Independent of DALI on purpose (it is the parity oracle and the benchmark baseline):

* **decode**: libsndfile through soundfile (WAV, FLAC, OGG) to float32, channels averaged for
  a mono spec (what DALI's ``downmix`` does);
* **resample** to the spec's rate with soxr (a well-kept library; its "HQ" band-limited
  resampler), cut or zero-padded to DALI's length rule (:func:`resampled_length`) so both
  backends yield the same number of samples. The two resamplers' filters differ slightly:
  the stated tolerance covers it (docs/audio.md);
* then every step's ``op.reference`` with the draws DALI receives, and the output dtype.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import torch

from ...errors import DaliPipelinesError
from ...ops.audio._resampling import soxr_resample
from ...ops.audio.base import AudioOp
from ...ops.base import Args
from ...plan import Plan


def decode_audio(data: np.ndarray, plan: Plan, length: int) -> torch.Tensor:
    """Encoded bytes -> (C, length) float32 at the spec's rate (soxr HQ, cut to DALI's length
    rule, as the ``resample`` op's reference)."""
    import soundfile

    audio = plan.spec.audio
    assert audio is not None
    samples, rate = soundfile.read(io.BytesIO(data.tobytes()), dtype="float32", always_2d=True)
    if audio.out_channels == 1 and samples.shape[1] > 1:
        samples = samples.mean(axis=1, keepdims=True, dtype=np.float32)
    wave = torch.from_numpy(np.ascontiguousarray(samples.T, dtype=np.float32))
    try:
        wave = soxr_resample(wave, int(rate), audio.sample_rate)
    except ImportError:  # pragma: no cover - the audio extra is part of the dev install
        raise DaliPipelinesError(
            "reference audio: expected soxr to resample (pip install 'dali-pipelines[audio]'), "
            "got no soxr"
        ) from None
    if wave.shape[1] != length:  # the feed's size came from the header: they agree
        raise DaliPipelinesError(
            f"reference audio: expected {length} samples from the header, decoded {wave.shape[1]}"
        )
    return wave


class AudioChain:
    """``chain(data, length, args)``: one sample decoded and sent through the plan's steps."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.steps = [(step, _audio_op(step.op)) for step in plan.steps]
        self.dtype = {"float16": torch.float16}.get(plan.spec.output.dtype, torch.float32)

    def __call__(self, data: np.ndarray, length: int, args: list[Args]) -> torch.Tensor:
        x = decode_audio(data, self.plan, length)
        for step, op in self.steps:
            x = op.reference(step.params, step.state_in, x, args[step.index])
        return x.to(self.dtype).contiguous()


def _audio_op(op: Any) -> AudioOp[Any]:
    if not isinstance(op, AudioOp):  # the planner refuses it; this guards direct use
        raise DaliPipelinesError(f"{op.name}: expected an audio op, got an image op")
    return op
