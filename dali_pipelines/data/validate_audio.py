"""``validate`` on audio files: header, bounds, and (deep) a full decode with soundfile.

Audio is checked from the file, not from its bytes in memory: the header is parsed where the
file lies (:func:`~.audio_window.read_header`: regular files only, a truncated WAV found by its
``data`` chunk), and a deep check decodes it in blocks of :data:`DECODE_BLOCK` frames, so a long
recording costs a block of memory, not its length. Quick mode: the header is readable, has
frames, and the rate, channel count and duration are within the :class:`AudioBounds` given
(``dali-pipelines validate --sample-rate-min/--sample-rate-max/--channels/--max-seconds``, or
an audio spec's section). Deep mode adds the decode: every frame the header declares must
decode (a FLAC or OGG cut short, or damaged inside, fails here) and be finite.

Which kind of data a folder or a list holds is told by its files' extensions
(:func:`detect_modality`); ``validate(modality="audio")`` says it outright.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from ..errors import FileRefusedError
from .audio_probe import AUDIO_EXTENSIONS, AudioHeader
from .audio_window import open_regular, read_header
from .checks import REASONS, Check, Reason, bad

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..spec.models import AudioDecodeSpec

Modality = Literal["auto", "image", "audio"]
#: Frames decoded at a time by a deep check (64 Ki frames: 256 KiB a channel).
DECODE_BLOCK = 1 << 16
#: Files looked at to tell an audio folder from an image folder.
DETECT_FILES = 1000


@dataclass(frozen=True)
class AudioBounds:
    """What an audio file must be: rates within [min, max] Hz, ``channels`` channels, at most
    ``max_seconds`` long (``None``: no bound)."""

    min_sample_rate: int | None = None
    max_sample_rate: int | None = None
    channels: int | None = None
    max_seconds: float | None = None

    @classmethod
    def from_spec(cls, audio: AudioDecodeSpec) -> AudioBounds:
        """The bounds of a spec's audio section (the loader refuses the same files)."""
        return cls(audio.min_sample_rate, audio.max_sample_rate, audio.channels, audio.max_seconds)

    def key(self) -> str:
        """The bounds in a cache's settings key (verdicts depend on them)."""
        return (
            f"rate=[{self.min_sample_rate},{self.max_sample_rate}]|channels={self.channels}|"
            f"max_seconds={self.max_seconds}"
        )

    def refusal(self, header: AudioHeader) -> tuple[Reason, str] | None:
        """Why ``header`` is outside the bounds, as (reason, ``field: expected X, got Y``)."""
        rate, low, high = header.sample_rate, self.min_sample_rate, self.max_sample_rate
        if low is not None and rate < low:
            return "bad_sample_rate", f"sample rate: expected >= {low} Hz, got {rate} Hz"
        if high is not None and rate > high:
            return "bad_sample_rate", f"sample rate: expected <= {high} Hz, got {rate} Hz"
        if self.channels is not None and header.channels != self.channels:
            return "bad_channels", f"channels: expected {self.channels}, got {header.channels}"
        if self.max_seconds is not None and header.seconds > self.max_seconds:
            got = f"{header.seconds:.3f} s"
            return "too_long", f"duration: expected <= {self.max_seconds:g} s, got {got}"
        return None


def _reason(code: str) -> Reason:
    return next((r for r in REASONS if r == code), "unreadable")


@dataclass(frozen=True)
class AudioCheck:
    """The per-file check of an audio run; a plain value, so worker processes receive it."""

    bounds: AudioBounds
    deep: bool
    max_file_bytes: int | None

    def __call__(self, path: str) -> tuple[Check, int | None]:
        """The verdict on the file ``path`` and its size (``None`` when it was not opened)."""
        try:
            with open_regular(path) as (handle, size):
                return self._check_open(handle, path, size), size
        except FileRefusedError as exc:  # a FIFO, a device, a directory
            return bad(_reason(exc.code), exc.reason), None
        except OSError as exc:
            return bad("unreadable", f"{type(exc).__name__}: {exc.strerror or exc}"), None

    def _check_open(self, handle: Any, path: str, size: int) -> Check:
        if self.max_file_bytes is not None and size > self.max_file_bytes:
            reason = f"file larger than max_file_bytes={self.max_file_bytes} ({size} bytes)"
            return bad("too_many_bytes", reason)
        try:
            header = read_header(handle, path, size)
        except FileRefusedError as exc:
            return bad(_reason(exc.code), exc.reason)
        fields: dict[str, Any] = {
            "format": header.format,
            "sample_rate": header.sample_rate,
            "channels": header.channels,
            "seconds": header.seconds,
        }
        refused = self.bounds.refusal(header)
        if refused is None and self.deep:
            refused = decode_all(handle, header)
        if refused is not None:
            decoder = "soundfile" if refused[0] in ("decode_failed", "corrupt") else None
            return bad(refused[0], refused[1], decoder=decoder, **fields)
        return Check(True, **fields)


def decode_all(handle: Any, header: AudioHeader) -> tuple[Reason, str] | None:
    """Decode the open file block by block; why it fails, or ``None`` when every frame the
    header declares decodes to finite samples."""
    import soundfile

    block = np.empty((DECODE_BLOCK, header.channels), dtype=np.float32)
    total = 0
    handle.seek(0)
    try:
        with soundfile.SoundFile(handle) as audio:
            while total <= header.frames:  # never past the header's count (plus one block)
                got = audio.read(out=block)
                if len(got) == 0:
                    break
                if not np.isfinite(got).all():
                    at = total + int(np.argmin(np.isfinite(got).all(axis=1)))
                    return (
                        "corrupt",
                        f"samples: expected finite values, got NaN or inf at frame {at}",
                    )
                total += len(got)
    except Exception as exc:  # LibsndfileError, a decoder's RuntimeError
        return "decode_failed", f"soundfile: {exc} (after {total} frames)"
    if total != header.frames:
        return "truncated", f"frames: expected {header.frames} (the header), decoded {total}"
    return None


def is_audio_name(name: str) -> bool:
    return name.lower().endswith(AUDIO_EXTENSIONS)


def detect_modality(paths: Iterable[str]) -> Literal["image", "audio"]:
    """``audio`` when most of the first :data:`DETECT_FILES` media files are audio files."""
    from .folder import IMG_EXTENSIONS

    audio = images = 0
    for name in paths:
        audio += is_audio_name(name)
        images += name.lower().endswith(IMG_EXTENSIONS)
        if audio + images >= DETECT_FILES:
            break
    return "audio" if audio > images else "image"


def folder_files(root: Path) -> Iterable[str]:
    """File names under ``root``'s class folders, in walk order (for :func:`detect_modality`)."""
    for dirpath, _, names in os.walk(root, followlinks=True):
        if Path(dirpath) != root:  # the root's own files (a cache, a manifest) are no samples
            yield from names


__all__ = [
    "DECODE_BLOCK",
    "AudioBounds",
    "AudioCheck",
    "Modality",
    "decode_all",
    "detect_modality",
    "folder_files",
    "is_audio_name",
]
