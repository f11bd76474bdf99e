"""Decode one sample at a time with DALI's CPU decoder, to find which file broke a batch.

DALI reports a decode failure by position in the batch, and for some files not even that
(``nvImageCodec failure: '#4'``). A one-sample pipeline settles it; it is rebuilt after each
failure since a failed DALI pipeline cannot run again. Only used after a failure.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np


class DecodeProbe:
    """``audio``: the spec's audio section (then DALI's audio decoder is probed)."""

    def __init__(self, color: Literal["rgb", "grayscale"], audio: Any = None):
        self.color = color
        self.audio = audio
        self._pipe: Any = None
        self._pending = np.zeros(0, dtype=np.uint8)

    def _build(self) -> Any:
        from nvidia.dali import fn, pipeline_def, types

        @pipeline_def(batch_size=1, num_threads=1, device_id=None, prefetch_queue_depth=1)
        def one() -> Any:
            encoded = fn.external_source(source=self._next, batch=True)
            if self.audio is not None:
                samples, _ = fn.decoders.audio(
                    encoded,
                    dtype=types.FLOAT,
                    downmix=self.audio.out_channels == 1,
                    sample_rate=float(self.audio.sample_rate),
                )
                return samples
            return fn.decoders.image(
                encoded,
                device="cpu",
                output_type=types.RGB if self.color == "rgb" else types.GRAY,
            )

        pipe = one()
        pipe.build()
        return pipe

    def _next(self) -> list[np.ndarray]:
        # Not consumed: a prefetching call must never find the source empty (it would hang).
        return [self._pending]

    def failure(self, data: np.ndarray) -> str | None:
        """``None`` when DALI decodes ``data``; otherwise DALI's reason."""
        if len(data) == 0:
            return "empty file"
        if self._pipe is None:
            self._pipe = self._build()
        self._pending = data
        try:
            self._pipe.run()
        except RuntimeError as exc:
            self._pipe = None  # unusable after a failure
            return dali_reason(exc)
        return None

    def close(self) -> None:
        self._pipe = None


def dali_reason(exc: BaseException) -> str:
    """The informative line of a DALI error: what follows "encountered:", not the op banner."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    if "encountered:" in lines:
        after = lines[lines.index("encountered:") + 1 :]
        useful = [ln for ln in after if not ln.startswith("Current pipeline object")]
        if useful:
            return useful[0]
    return lines[-1] if lines else type(exc).__name__
