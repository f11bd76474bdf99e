"""Audio runs of the benchmark: the dataset, the length unit, and each loader's audio figures.

An audio loader yields ``(audio or features (N, F, T), lengths (N,), labels)``, padded to the
longest sample of the batch. Samples/s alone hides how much audio that is (clips of 0.5 s and 8 s
count alike), so the bench also reports *audio seconds per second*: the batch's ``lengths``
summed and converted to seconds, and the *padding ratio*: padded over real frames, which length
bucketing exists to lower. Both come from the batches the timed reps really delivered.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..data import AudioFolder, ImageFolder
from ..data.audio_probe import AudioHeader
from ..data.demo import read_manifest
from ..loader.bucketing import padding_ratio
from ..spec import PipelineSpec
from .report import AudioDatasetInfo, AudioInfo, AudioResult, DatasetInfo, quartiles
from .runner import EpochTiming


def open_dataset(root: str | os.PathLike[str], spec: PipelineSpec) -> ImageFolder | AudioFolder:
    """The folder as the spec reads it: an AudioFolder for an audio spec, else an ImageFolder.

    A demo audio root (``dali-pipelines demo-data --modality audio``) holds its AudioFolder in
    ``clips/`` next to a manifest; it is opened there, so the demo's own path works as given.
    """
    if spec.modality != "audio":
        return ImageFolder(root)
    from ..data.demo_audio import CLIPS_DIR

    manifest = read_manifest(root)
    if manifest is not None and manifest.get("modality") == "audio":
        return AudioFolder(os.path.join(root, CLIPS_DIR))
    return AudioFolder(root)


def audio_info(spec: PipelineSpec) -> AudioInfo:
    """The output's length unit: samples at the spec's rate, or frames one hop apart.

    A frame count converts to seconds as ``frames * hop / rate``; DALI's frame count is
    ``T // hop + 1`` (centred windows), so that is the wave's duration to within one hop.
    """
    from ..plan import make_plan

    state = make_plan(spec).output
    rate = int(state.sample_rate)
    if state.is_wave or state.frames is None:
        return AudioInfo(length_unit="samples", sample_rate=rate, hop=None, unit_seconds=1 / rate)
    hop = int(state.frames.hop)
    return AudioInfo(length_unit="frames", sample_rate=rate, hop=hop, unit_seconds=hop / rate)


@dataclass
class EpochLengths:
    """What one epoch delivered: the units of audio and the padding ratio."""

    units: int = 0
    padding_ratio: float = 0.0


class LengthsRecorder:
    """A loader seen through its batches' ``lengths``: an :class:`EpochLengths` per epoch
    number (the last ``set_epoch``'s).

    Sized, with ``set_epoch``, like the loader it wraps, so the runner times it the same way;
    reading the lengths tensor (N integers) costs microseconds against a batch of audio.
    """

    def __init__(self, loader: Any):
        self.loader = loader
        self.epochs: dict[int, EpochLengths] = {}
        self._epoch = 0

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int) -> None:
        self._epoch = epoch
        set_epoch = getattr(self.loader, "set_epoch", None)
        if callable(set_epoch):
            set_epoch(epoch)

    def __iter__(self) -> Iterator[Any]:
        epoch = self._epoch
        batches: list[np.ndarray] = []
        for batch in self.loader:
            batches.append(_lengths(batch))
            yield batch
        self.epochs[epoch] = _epoch_lengths(batches)


def _lengths(batch: Any) -> np.ndarray:
    if not isinstance(batch, (tuple, list)) or len(batch) < 2:
        raise TypeError(
            f"audio batch: expected (audio, lengths, labels), got {type(batch).__name__}"
        )
    return np.asarray(batch[1].cpu() if hasattr(batch[1], "cpu") else batch[1]).reshape(-1)


def _epoch_lengths(batches: Sequence[np.ndarray]) -> EpochLengths:
    if not batches:
        return EpochLengths()
    flat = np.concatenate(batches).astype(np.float64)
    ends = np.cumsum([len(b) for b in batches])
    # Each batch is padded to its longest sample (the loader's contract: lengths <= T, and
    # T is the longest), which is what padding_ratio charges a batch.
    slices = [np.arange(end - len(b), end) for b, end in zip(batches, ends)]
    return EpochLengths(int(flat.sum()), padding_ratio(flat, slices))


def audio_result(
    recorder: LengthsRecorder, reps: Sequence[EpochTiming], unit_seconds: float
) -> AudioResult:
    """Audio seconds/s per timed rep (median, quartiles) and the padding over those reps,
    matched to the recorded epochs by the epoch numbers the runner gave them."""
    missing = [t.epoch for t in reps if t.epoch not in recorder.epochs]
    if not reps or missing:
        raise ValueError(
            f"audio result: expected recorded epochs for every timed rep, got none for {missing}"
        )
    epochs = [recorder.epochs[t.epoch] for t in reps if t.epoch is not None]
    seconds = [e.units * unit_seconds for e in epochs]
    rates = [s / t.seconds if t.seconds > 0 else 0.0 for s, t in zip(seconds, reps)]
    q1, median, q3 = quartiles(rates)
    real = sum(e.units for e in epochs)
    padded = sum(e.units * e.padding_ratio for e in epochs)
    return AudioResult(
        seconds_per_s=median,
        seconds_per_s_q1=q1,
        seconds_per_s_q3=q3,
        seconds_per_s_iqr=q3 - q1,
        seconds_per_s_reps=rates,
        seconds_per_epoch=seconds[0],
        padding_ratio=padded / real if real > 0 else 0.0,
    )


def audio_dataset_info(folder: AudioFolder) -> DatasetInfo:
    """Sizes, durations, rates, channels and containers, from the headers AudioFolder read."""
    headers = [h for h in folder.headers if isinstance(h, AudioHeader)]
    durations = folder.durations()
    total_bytes = sum(os.path.getsize(path) for path, _label in folder.samples)
    n = len(folder)

    def count(values: Sequence[Any]) -> dict[str, int]:
        return {str(k): v for k, v in sorted(Counter(values).items())}

    audio = AudioDatasetInfo(
        files=len(folder.samples),
        seconds=float(durations.sum()),
        mean_seconds=float(durations.mean()) if n else 0.0,
        min_seconds=float(durations.min()) if n else 0.0,
        max_seconds=float(durations.max()) if n else 0.0,
        sample_rates=count([h.sample_rate for h in headers]),
        channels=count([h.channels for h in headers]),
        formats=count([h.format for h in headers]),
        bad_headers=len(folder.headers) - len(headers),
    )
    # The image fields have no meaning for audio: 0, as documented on DatasetInfo.audio.
    return DatasetInfo(
        root=str(folder.root),
        images=n,
        classes=len(folder.classes),
        total_bytes=total_bytes,
        mean_bytes=total_bytes / max(1, len(folder.samples)),
        mean_width=0.0,
        mean_height=0.0,
        jpeg_fraction=0.0,
        audio=audio,
    )
