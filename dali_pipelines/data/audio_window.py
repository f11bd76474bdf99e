"""Read a window of an audio file: only its frames, re-encoded as a small in-memory WAV.

A long recording cut into windows must not be decoded whole for every window. libsndfile seeks
(WAV: to the byte; FLAC: by its seek table or a bisection; OGG: by page granule) and decodes from
there, so :func:`read_window` touches the frames it returns and little more: its memory is the
window's, not the file's. The window goes back out as a WAV of float32 samples at the file's own
rate and channels, a 1-D uint8 array like any encoded sample, so DALI's audio decoder (and the
reference one) take a window exactly as they take a whole file.

Files are opened like :func:`~.read.read_regular`: without blocking (a FIFO is refused, never
waited on), checked with ``fstat`` after opening. Everything wrong with a file raises
:class:`~dali_pipelines.errors.FileRefusedError`, an ``OSError`` naming the file, which the
loader's per-sample guard turns into a bad sample (raised, or skipped by ``on_error="skip"``).
"""

from __future__ import annotations

import os
import stat
import struct
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import numpy as np

from ..errors import DatasetError, FileRefusedError
from .audio_probe import AUDIO_FORMATS, AudioHeader
from .read import _FLAGS, file_kind

#: RIFF/WAVE chunks walked looking for ``data`` before giving up (a real file has a handful; a
#: forged one could chain millions of tiny chunks).
MAX_WAV_CHUNKS = 1024
#: Bytes of the header :func:`encode_wav` writes (RIFF, fmt, fact, data): the part of a window's
#: size that is not samples.
WAV_HEADER_BYTES = 56
#: Frames decoded and dropped before an OGG window. libsndfile's Vorbis seek lands on the right
#: frame but decodes the first block after it without the previous block's overlap (wrong
#: samples, measured near the end of a file); one block (at most 8192 frames) of run-up decodes
#: it as a sequential read does.
OGG_PREROLL = 8192


@contextmanager
def open_regular(
    path: str | os.PathLike[str], follow_symlinks: bool = True
) -> Iterator[tuple[IO[bytes], int]]:
    """The regular file ``path`` opened for binary reading, and its size.

    Opened with ``O_NONBLOCK`` and checked with ``fstat`` on the descriptor (the file checked is
    the file read): a FIFO, a device or a directory raises :class:`FileRefusedError`.
    ``follow_symlinks=False`` adds ``O_NOFOLLOW`` (a manifest's files, checked when bound, must
    not be swapped for a link afterwards), as :func:`~.read.read_regular` does.
    """
    name = os.fspath(path)
    if "\0" in name:
        raise FileRefusedError(repr(name), "expected a path without NUL bytes", "unreadable")
    fd = os.open(name, _FLAGS | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0)))
    with open(fd, "rb") as handle:  # owns fd from here: closed on every exit
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            reason = f"not a regular file: {file_kind(info.st_mode)}"
            raise FileRefusedError(name, reason, "not_regular_file")
        yield handle, info.st_size


def header_code(message: str) -> str:
    """``validate``'s reason for an unusable header's message (see :func:`_check_header`)."""
    if message == "empty file":
        return "empty"
    if message.startswith("truncated"):
        return "truncated"
    if message.startswith("expected one of"):  # AIFF, AU, ...: libsndfile reads, DALI does not
        return "unsupported_format"
    if message.startswith("no audio frames"):
        return "no_frames"
    return "not_audio"


def _refuse(name: str, message: str) -> FileRefusedError:
    return FileRefusedError(name, message, header_code(message))


def _info(handle: IO[bytes], name: str, size: int) -> Any:
    """libsndfile's header of the open file (header only: nothing is decoded)."""
    import soundfile

    if size == 0:
        raise _refuse(name, "empty file")
    handle.seek(0)
    try:
        return soundfile.info(handle)
    except Exception as exc:  # LibsndfileError, RuntimeError("Format not recognised"), ...
        text = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
        raise _refuse(name, f"not readable audio: {text}") from None


def _check_header(info: Any, handle: IO[bytes], name: str, size: int) -> AudioHeader:
    """The checks of :func:`~.audio_probe.probe_audio`, on an open file instead of its bytes."""
    if info.format not in AUDIO_FORMATS:
        raise _refuse(name, f"expected one of {list(AUDIO_FORMATS)}, got {info.format}")
    if info.frames <= 0:
        raise _refuse(name, "no audio frames (empty or truncated before the first)")
    if info.samplerate <= 0 or info.channels <= 0:
        raise _refuse(name, f"rate {info.samplerate} Hz, {info.channels} channels")
    if info.format == "WAV":
        missing = _wav_shortfall(handle, size)
        if missing is not None:
            declared, present = missing
            raise _refuse(
                name, f"truncated: the data chunk declares {declared} bytes, {present} are present"
            )
    return AudioHeader(int(info.frames), int(info.samplerate), int(info.channels), info.format)


def _wav_shortfall(handle: IO[bytes], size: int) -> tuple[int, int] | None:
    """(declared, present) bytes of a RIFF/WAVE ``data`` chunk cut short, else ``None``.

    libsndfile reports the frames a truncated WAV still holds; DALI would decode fewer samples
    than the header promises. Reads 8 bytes per chunk header, never the samples.
    """
    handle.seek(0)
    if (head := handle.read(12))[:4] != b"RIFF" or head[8:12] != b"WAVE":
        return None  # RF64 and friends: libsndfile's own frame count stands
    position = 12
    for _ in range(MAX_WAV_CHUNKS):
        handle.seek(position)
        chunk = handle.read(8)
        if len(chunk) < 8:
            return None
        declared = struct.unpack_from("<I", chunk, 4)[0]
        if chunk[:4] == b"data":
            present = size - position - 8
            # 0xFFFFFFFF (and 0) are streaming placeholders: the size is unknown, not wrong.
            if declared not in (0, 0xFFFFFFFF) and present < declared:
                return declared, present
            return None
        position += 8 + declared + (declared & 1)  # chunks are word aligned
    return None


def audio_header(path: str | os.PathLike[str], follow_symlinks: bool = True) -> AudioHeader:
    """The header of the audio file ``path`` (frames, rate, channels, format), read without
    decoding. :class:`FileRefusedError` names the file and says why it is unusable (its ``code``
    is ``validate``'s reason: ``empty``, ``truncated``, ``not_audio``, ``no_frames``,
    ``unsupported_format``, ``not_regular_file``)."""
    name = os.fspath(path)
    with open_regular(name, follow_symlinks) as (handle, size):
        return read_header(handle, name, size)


def read_header(handle: IO[bytes], name: str, size: int) -> AudioHeader:
    """The header of the open audio file ``handle`` of ``size`` bytes (see :func:`audio_header`)."""
    return _check_header(_info(handle, name, size), handle, name, size)


def _check_window(start: int, frames: int, pad_to: int | None, max_bytes: int | None) -> None:
    for field, value, least in (("start", start, 0), ("frames", frames, 1)):
        if type(value) is not int or value < least:
            raise DatasetError(f"read_window.{field}: expected an int >= {least}, got {value!r}")
    if pad_to is not None and (type(pad_to) is not int or pad_to < frames):
        raise DatasetError(
            f"read_window.pad_to: expected None or an int >= {frames}, got {pad_to!r}"
        )
    if max_bytes is not None and (type(max_bytes) is not int or max_bytes < 1):
        raise DatasetError(
            f"read_window.max_bytes: expected None or an int >= 1, got {max_bytes!r}"
        )


def read_window(
    path: str | os.PathLike[str],
    start: int,
    frames: int,
    *,
    pad_to: int | None = None,
    max_bytes: int | None = None,
    follow_symlinks: bool = True,
) -> np.ndarray:
    """Frames ``[start, start + frames)`` of the audio file ``path`` as a float32 WAV's bytes.

    Only those frames are decoded (libsndfile seeks to ``start``). A window running past the end
    of the file holds the frames there are, then zeros up to ``pad_to`` frames when given (a
    window of fixed length). The WAV keeps the file's rate and channels. ``max_bytes`` bounds the
    returned array (checked from the header, before anything is decoded).

    Raises :class:`FileRefusedError` (an ``OSError``) naming the file: not a regular file, not
    readable audio, truncated, ``start`` past the end (the file changed since it was indexed), a
    window over ``max_bytes``. Bad arguments raise :class:`DatasetError`.
    """
    import soundfile

    _check_window(start, frames, pad_to, max_bytes)
    name = os.fspath(path)
    with open_regular(name, follow_symlinks) as (handle, size):
        header = read_header(handle, name, size)
        if start >= header.frames:
            raise FileRefusedError(
                name,
                f"start: expected a frame below the file's {header.frames}, got {start} "
                "(the file is shorter than when it was indexed)",
                "truncated",
            )
        rows = max(frames, pad_to or 0)
        out_bytes = rows * header.channels * 4 + WAV_HEADER_BYTES
        if max_bytes is not None and out_bytes > max_bytes:
            reason = (
                f"window larger than max_bytes={max_bytes} ({rows} frames x "
                f"{header.channels} channels x 4 bytes)"
            )
            raise FileRefusedError(name, reason, "too_many_bytes")
        samples = np.zeros((rows, header.channels), dtype=np.float32)  # zeros: the padding
        handle.seek(0)
        try:
            with soundfile.SoundFile(handle) as audio:
                _seek(audio, start, header)
                got = len(audio.read(min(frames, header.frames - start), out=samples[:frames]))
        except Exception as exc:  # LibsndfileError, a decode error in a damaged FLAC/OGG
            reason = f"not decodable at frame {start}: {exc}"
            raise FileRefusedError(name, reason, "corrupt") from None
    if pad_to is None:
        samples = samples[:got]
    return encode_wav(samples, header.sample_rate)


def _seek(audio: Any, start: int, header: AudioHeader) -> None:
    """Position ``audio`` at frame ``start`` so that what follows decodes as a sequential read."""
    if header.format != "OGG":
        audio.seek(start)
        return
    first = max(0, start - OGG_PREROLL)
    audio.seek(first)
    if start > first:  # run-up: at most OGG_PREROLL frames, dropped
        audio.read(start - first, dtype="float32", always_2d=True)


def encode_wav(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """``samples`` (frames, channels) as a float32 PCM WAV, a 1-D uint8 array.

    Written here rather than by libsndfile, whose float WAVs carry a PEAK chunk stamped with the
    wall-clock time: the same window would give different bytes every second. The layout is
    libsndfile's own minus that chunk: RIFF, ``fmt`` (IEEE float), ``fact``, ``data``.
    """
    data = np.ascontiguousarray(samples, dtype="<f4")
    frames, channels = data.shape
    size = data.nbytes
    header = b"".join(
        (
            b"RIFF",
            struct.pack("<I", 4 + 24 + 12 + 8 + size),
            b"WAVEfmt ",
            struct.pack(
                "<IHHIIHH",
                16,
                3,
                channels,
                sample_rate,
                sample_rate * channels * 4,
                channels * 4,
                32,
            ),
            b"fact",
            struct.pack("<II", 4, frames),
            b"data",
            struct.pack("<I", size),
        )
    )
    out = np.empty(len(header) + size, dtype=np.uint8)
    out[: len(header)] = np.frombuffer(header, dtype=np.uint8)
    out[len(header) :] = data.reshape(-1).view(np.uint8)
    return out


__all__ = [
    "MAX_WAV_CHUNKS",
    "OGG_PREROLL",
    "audio_header",
    "encode_wav",
    "header_code",
    "open_regular",
    "read_header",
    "read_window",
]
