"""What happens to samples DALI cannot decode: the bookkeeping behind ``on_error``.

``raise``: the first bad sample raises :class:`SampleDecodeError` naming its file and index.
``skip``: a file DALI cannot decode but PIL can is decoded by PIL and fed to DALI re-encoded as
a PNM (lossless, decoded bit-exactly), so it is delivered, with the same augmentations, and
counted as a fallback; a file neither can read is skipped, reported, and quarantined so later
epochs skip it without trying again. Records are keyed by (epoch, index), so a batch re-run after
a pipeline rebuild never counts a sample twice.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from ..data.pil import decode_pil
from ..errors import SampleDecodeError

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .feed import BadSample

OnError = Literal["raise", "skip"]


@dataclass(frozen=True)
class SampleIssue:
    epoch: int
    index: int
    path: str
    reason: str


@dataclass
class Recovery:
    on_error: OnError = "raise"
    color: Literal["rgb", "grayscale"] = "rgb"
    #: index -> reason: never decoded again (skipped every epoch, still reported every epoch).
    quarantine: dict[int, str] = field(default_factory=dict)
    #: files DALI cannot decode and PIL can, fed as PNM: the sample index for a sample's first
    #: image column, (index, column) for its other columns (:func:`fallback_key`).
    fallback: set[int | tuple[int, int]] = field(default_factory=set)
    skipped: dict[tuple[int, int], SampleIssue] = field(default_factory=dict)
    fallbacks: dict[tuple[int, int], SampleIssue] = field(default_factory=dict)

    def bad(self, epoch: int, bad: BadSample) -> None:
        """The one guard for an unusable sample: raise naming its file (``on_error="raise"``)
        or record the skip and quarantine it (``"skip"``)."""
        if self.on_error == "skip":
            self.skip(epoch, bad.index, bad.path, bad.reason)
            return
        raise SampleDecodeError(
            f"sample {bad.index} ({bad.path}): {bad.reason}", path=bad.path, index=bad.index
        ) from bad.cause

    def skip(self, epoch: int, index: int, path: str, reason: str) -> None:
        self.quarantine[index] = reason
        self.skipped[(epoch, index)] = SampleIssue(epoch, index, path, reason)

    def note_fallback(self, epoch: int, index: int, path: str, reason: str) -> None:
        self.fallbacks[(epoch, index)] = SampleIssue(epoch, index, path, reason)

    def pnm(self, data: np.ndarray) -> np.ndarray:
        """PIL's decode of ``data`` (orientation applied) as PNM bytes DALI decodes exactly."""
        image = decode_pil(data, self.color, max_pixels=None)  # the feed applied max_pixels
        buffer = io.BytesIO()
        image.save(buffer, format="PPM")  # P6 for RGB, P5 for L
        return np.frombuffer(buffer.getvalue(), dtype=np.uint8)

    def pil_reason(self, data: np.ndarray) -> str | None:
        """``None`` when PIL decodes ``data``; otherwise why it cannot."""
        try:
            decode_pil(data, self.color, max_pixels=None)  # the feed applied max_pixels
        except Exception as exc:  # PIL raises OSError, ValueError, SyntaxError, ...
            return f"{type(exc).__name__}: {exc}"
        return None

    def issues_by_epoch(
        self, which: dict[tuple[int, int], SampleIssue]
    ) -> dict[int, list[tuple[str, str]]]:
        out: dict[int, list[tuple[str, str]]] = {}
        for (epoch, _index), issue in sorted(which.items()):
            out.setdefault(epoch, []).append((issue.path, issue.reason))
        return out


def fallback_key(index: int, column: int) -> int | tuple[int, int]:
    """The key of one image column's file in ``Recovery.fallback``."""
    return index if column == 0 else (index, column)


def placeholder_pnm(channels: int) -> np.ndarray:
    """A 1x1 image fed when every sample of a batch was skipped (DALI cannot run an empty
    batch); its row is dropped from the output, so the batch arrives with 0 samples."""
    header = b"P6\n1 1\n255\n" if channels == 3 else b"P5\n1 1\n255\n"
    return np.frombuffer(header + b"\x00" * channels, dtype=np.uint8)


def placeholder_wav(sample_rate: int, channels: int) -> np.ndarray:
    """The audio counterpart of :func:`placeholder_pnm`: one silent frame as WAV bytes."""
    import soundfile

    buffer = io.BytesIO()
    frame = np.zeros((1, channels), dtype=np.float32)
    soundfile.write(buffer, frame, sample_rate, format="WAV", subtype="FLOAT")
    return np.frombuffer(buffer.getvalue(), dtype=np.uint8)
