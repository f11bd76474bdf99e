"""One sample, ready for any executor: bytes read, guards applied, parameters drawn.

Every executor starts from :meth:`SampleFeed.prepare`: the DALI source packs its results into
argument inputs, the torch reference decodes the same bytes and applies the same draws, the
split executor's DALI segment feeds from it too. So the ``max_pixels`` guard, unreadable,
special and oversized files (sources read through :func:`~..data.read.read_regular`, which
raises :class:`~..errors.FileRefusedError`), quarantined files, the PIL fallback substitution
and the seed policy live here once. ``max_pixels=None`` is no limit at all: the header probe
runs without PIL's decompression-bomb limit, and so do the PIL decodes after this guard.

A sample that cannot be used comes back as a :class:`BadSample` (what, where, why); the caller
hands it to :meth:`Recovery.bad`, which raises naming the file or records the skip.

Every sample's stages are timed into the loader's profile (:mod:`.profile`): ``read`` (with
the bytes read), ``probe`` (the header guards) and ``draw`` (the seed policy), with bare
``perf_counter`` stamps: this runs per sample, where a context manager's cost would show.
A worker process passes its own :class:`~.profile.Tally` (``prepare(..., into=tally)``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..data.audio_probe import AudioHeaderError, probe_audio
from ..data.columns import BoundSource
from ..data.npy import NpyError, matches_color, parse_npy
from ..data.probe import probe_header
from ..errors import FileRefusedError, TooManyPixelsError
from ..ops.audio.base import resampled_length
from ..ops.base import Size
from ..plan import Plan
from ..plan.draws import Drawn, draw_sample
from ..plan.layout import transform_boxes
from .profile import Profile, Stage
from .recovery import Recovery, fallback_key

_NO_BOXES = (np.zeros((0, 4), dtype=np.float32), np.zeros(0, dtype=np.int64))


@dataclass(frozen=True)
class BadSample:
    index: int
    column: int
    path: str
    reason: str
    cause: BaseException | None = None


@dataclass(frozen=True)
class Prepared:
    """A usable sample: per image column its bytes (a raw column: its HWC pixels in the spec's
    colour, checked), decoded size and draws; the passed data."""

    index: int
    encoded: list[np.ndarray]
    sizes: list[Size]
    drawn: list[Drawn]
    labels: list[int]
    features: list[np.ndarray]
    #: Boxes already moved by the draws into output pixels, and their classes; or None.
    boxes: tuple[np.ndarray, np.ndarray] | None
    #: Audio: per column the file's (frames, sample rate) before the decode resamples it.
    native: list[tuple[int, int]] = field(default_factory=list)


#: A usable column: its bytes, its decoded size and, for audio, its native (frames, rate).
Checked = tuple[np.ndarray, Size, tuple[int, int] | None]
_clock = time.perf_counter


class Recorder(Protocol):
    """Where stage times go: the loader's :class:`Profile`, or a worker's ``Tally``."""

    def add(self, stage: Stage, seconds: float, *, count: int = 1, nbytes: int = 0) -> None: ...

    def record(
        self, stage: Stage, start: float, end: float, *, count: int = 1, nbytes: int = 0
    ) -> None: ...


class SampleFeed:
    """``prepare(index, epoch)`` -> :class:`Prepared` or :class:`BadSample`."""

    def __init__(
        self,
        bound: BoundSource,
        plan: Plan,
        seed: int,
        recovery: Recovery,
        max_pixels: int | None,
        profile: Profile | None = None,
    ):
        #: The loader's profile (a private one when none is given: recording is unconditional).
        self.profile = profile if profile is not None else Profile()
        self.bound = bound
        self.plan = plan
        self.seed = seed
        self.recovery = recovery
        self.max_pixels = max_pixels
        self.columns = len(bound.images)
        self._check = self._audio if plan.audio else self._image

    def prepare(self, index: int, epoch: int, into: Recorder | None = None) -> Prepared | BadSample:
        """The sample ``index`` of ``epoch``; its stage times go to ``into`` (a worker's tally)
        or the profile."""
        recorder = self.profile if into is None else into
        quarantined = self.recovery.quarantine.get(index)
        if quarantined is not None:  # reported again every epoch, never decoded again
            return BadSample(index, 0, self.bound.path(index), quarantined)
        encoded: list[np.ndarray] = []
        sizes: list[Size] = []
        native: list[tuple[int, int]] = []
        for column, read in enumerate(self.bound.images):
            checked = self._column(index, column, read, recorder)
            if isinstance(checked, BadSample):
                return checked
            encoded.append(checked[0])
            sizes.append(checked[1])
            if checked[2] is not None:
                native.append(checked[2])
        start = _clock()
        sample = self._complete(index, epoch, encoded, sizes, native)
        recorder.record("draw", start, _clock())
        return sample

    def placeholder(self, epoch: int, encoded: np.ndarray) -> Prepared:
        """A stand-in sample (index -1) for a batch whose samples were all skipped: DALI cannot
        run an empty batch. It draws like any sample; its row is dropped from the output.
        ``encoded`` is a 1x1 image, or one frame of audio at the decode rate."""
        columns = self.columns
        if not self.plan.audio:
            pixels = np.zeros((1, 1, self.plan.decoded.channels), dtype=np.uint8)
            placeholders = [
                pixels if self.bound.encoding(c) == "npy" else encoded for c in range(columns)
            ]
            return self._complete(-1, epoch, placeholders, [(1, 1)] * columns)
        rate = self.plan.decoded.sample_rate
        size = (self.plan.decoded.channels, 1)
        return self._complete(-1, epoch, [encoded] * columns, [size] * columns, [(1, rate)])

    def _complete(
        self,
        index: int,
        epoch: int,
        encoded: list[np.ndarray],
        sizes: list[Size],
        native: list[tuple[int, int]] | None = None,
    ) -> Prepared:
        bound = self.bound
        drawn = draw_sample(self.plan, sizes, self.seed, epoch, max(index, 0))
        real = index >= 0
        labels = [read(index) if real else -1 for read in bound.labels]
        features = [
            np.asarray(read(index), dtype=np.float32)
            if real
            else np.zeros(len(out.columns), dtype=np.float32)
            for read, out in zip(bound.features, self.plan.layout.features)
        ]
        boxes = None
        if bound.boxes is not None:
            xyxy, classes = bound.boxes(index) if real else _NO_BOXES
            moved = transform_boxes(self.plan, xyxy, drawn[self.plan.layout.box_image])
            boxes = (moved, np.ascontiguousarray(classes, dtype=np.int64))
        return Prepared(index, encoded, sizes, drawn, labels, features, boxes, native or [])

    def _column(
        self, index: int, column: int, read: Any, recorder: Recorder
    ) -> Checked | BadSample:
        start = _clock()
        try:
            data = read(index)
        except FileRefusedError as exc:  # a FIFO, a device, a file over max_file_bytes
            return self._bad(index, column, exc.reason, exc)
        except OSError as exc:
            return self._bad(index, column, f"cannot read the file: {exc}", exc)
        read_end = _clock()
        recorder.record("read", start, read_end, nbytes=len(data))
        checked = self._check(index, column, data)
        recorder.record("probe", read_end, _clock())
        return checked

    def _image(self, index: int, column: int, data: np.ndarray) -> Checked | BadSample:
        if self.bound.encoding(column) == "npy":
            return self._raw(index, column, data)
        if fallback_key(index, column) in self.recovery.fallback:
            data = self.recovery.pnm(data)
        try:
            header = probe_header(data)  # any size: max_pixels is checked below, with the size
        except Exception as exc:  # PIL raises many types; all mean "not an image we can read"
            why = str(exc) or type(exc).__name__
            reason = "empty file" if len(data) == 0 else f"not a readable image: {why}"
            return self._bad(index, column, reason, exc)
        if self.max_pixels is not None and header.pixels > self.max_pixels:
            refused = TooManyPixelsError(header.width, header.height, self.max_pixels)
            return self._bad(index, column, str(refused), None)
        return data, header.size, None

    def _raw(self, index: int, column: int, data: np.ndarray) -> Checked | BadSample:
        """A raw (npy) image: its header checked, its pixels viewed (no decode) and put in
        the spec's colour; what every executor then takes as the decoded HWC image."""
        try:
            pixels = parse_npy(data)
        except NpyError as exc:
            return self._bad(index, column, f"not a raw image: {exc}", exc)
        height, width = int(pixels.shape[0]), int(pixels.shape[1])
        if self.max_pixels is not None and height * width > self.max_pixels:
            refused = TooManyPixelsError(width, height, self.max_pixels)
            return self._bad(index, column, str(refused), None)
        return matches_color(pixels, self.plan.spec.decode.color), (height, width), None

    def _bad(self, index: int, column: int, reason: str, cause: BaseException | None) -> BadSample:
        return BadSample(index, column, self.bound.path(index, column), reason, cause)

    def _audio(self, index: int, column: int, data: np.ndarray) -> Checked | BadSample:
        """The audio guards: a readable header, the spec's rate, channel and duration bounds;
        the size is (channels, samples after resampling to the decode rate)."""
        audio = self.plan.spec.audio
        assert audio is not None
        try:
            header = probe_audio(data)
        except AudioHeaderError as exc:
            return self._bad(index, column, str(exc), None)
        reason = audio_refusal(audio, header.sample_rate, header.channels, header.seconds)
        if reason is not None:
            return self._bad(index, column, reason, None)
        length = resampled_length(header.frames, header.sample_rate, audio.sample_rate)
        return data, (audio.out_channels, length), (header.frames, header.sample_rate)


def audio_refusal(audio: Any, rate: int, channels: int, seconds: float) -> str | None:
    """Why a file of ``rate`` Hz, ``channels`` channels and ``seconds`` does not fit the spec's
    audio section (``None``: it fits)."""
    if audio.min_sample_rate is not None and rate < audio.min_sample_rate:
        return f"sample rate: expected >= {audio.min_sample_rate} Hz, got {rate} Hz"
    if audio.max_sample_rate is not None and rate > audio.max_sample_rate:
        return f"sample rate: expected <= {audio.max_sample_rate} Hz, got {rate} Hz"
    if audio.channels is not None and channels != audio.channels:
        return f"channels: expected {audio.channels}, got {channels}"
    if seconds > audio.max_seconds:
        limit = f"{audio.max_seconds:g} s (audio.max_seconds)"
        return f"duration: expected <= {limit}, got {seconds:.1f} s"
    return None
