"""Audio headers without decoding: frames, rate and channels of WAV, FLAC and OGG bytes.

libsndfile (through soundfile) parses the header only (~50 us a file here). It trusts what it
can: a WAV cut short reports the frames that are there, so :func:`probe_audio` also compares a
WAV's declared data size with the bytes present and calls the file truncated when they differ
(DALI would decode fewer samples than the header promises). Compressed formats cut short fail
at decode time instead; the executors' decode check names those files.
"""

from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

#: The formats DALI's audio decoder reads (libsndfile's names, as soundfile reports them).
AUDIO_FORMATS = ("WAV", "FLAC", "OGG")
#: File extensions of audio files (lower case), for folders and tar members.
AUDIO_EXTENSIONS = (".wav", ".flac", ".ogg")


class AudioHeaderError(ValueError):
    """The bytes are not audio this toolkit reads; the message says why (no file name: the
    caller knows it)."""


@dataclass(frozen=True)
class AudioHeader:
    frames: int
    sample_rate: int
    channels: int
    format: str

    @property
    def seconds(self) -> float:
        return self.frames / self.sample_rate


def probe_audio(data: np.ndarray | bytes) -> AudioHeader:
    """The header of encoded audio, or :class:`AudioHeaderError` saying why it is unusable."""
    import soundfile

    raw = data.tobytes() if isinstance(data, np.ndarray) else bytes(data)
    if not raw:
        raise AudioHeaderError("empty file")
    try:
        info = soundfile.info(io.BytesIO(raw))
    except Exception as exc:  # LibsndfileError, RuntimeError: "Format not recognised", ...
        text = str(exc).split(": ", 1)[-1] if ": " in str(exc) else str(exc)
        raise AudioHeaderError(f"not readable audio: {text}") from None
    if info.format not in AUDIO_FORMATS:
        raise AudioHeaderError(f"expected one of {list(AUDIO_FORMATS)}, got {info.format}")
    if info.frames <= 0:
        raise AudioHeaderError("no audio frames (empty or truncated before the first)")
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioHeaderError(f"rate {info.samplerate} Hz, {info.channels} channels")
    if info.format == "WAV":
        _check_wav_size(raw)
    return AudioHeader(int(info.frames), int(info.samplerate), int(info.channels), info.format)


def _check_wav_size(raw: bytes) -> None:
    """Refuse a RIFF/WAVE whose ``data`` chunk declares more bytes than the file holds."""
    if raw[:4] != b"RIFF" or raw[8:12] != b"WAVE":
        return  # RF64 and friends: libsndfile's own frame count stands
    position = 12
    while position + 8 <= len(raw):
        chunk, size = raw[position : position + 4], struct.unpack_from("<I", raw, position + 4)[0]
        if chunk == b"data":
            present = len(raw) - position - 8
            # 0xFFFFFFFF (and 0) are streaming placeholders: the size is unknown, not wrong.
            if size not in (0, 0xFFFFFFFF) and present < size:
                raise AudioHeaderError(
                    f"truncated: the data chunk declares {size} bytes, {present} are present"
                )
            return
        position += 8 + size + (size & 1)  # chunks are word aligned
