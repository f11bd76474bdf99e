"""The numbers every view shows: one flat reading of a :class:`ProfileSnapshot`.

The live panel, the JSON lines file and TensorBoard show the same figures, computed here once:
per stage milliseconds per image and share of the wall time, the stall share, images per
second, CPU milliseconds per image and peak resident memory.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any

from ...backends.profile import CRITICAL, STAGES, Profile, ProfileSnapshot, Stage

#: The consumer's stages that are the loader's: the wait for a batch (``step`` is the user's).
WAIT_STAGES: tuple[Stage, ...] = tuple(s for s in CRITICAL if s != "step")


@dataclass(frozen=True)
class Figures:
    """One reading: a window of batches, an epoch so far, or a finished epoch."""

    #: Milliseconds per image of every stage (critical and background).
    ms_per_image: dict[Stage, float]
    #: Seconds of each stage over the wall time. Critical stages partition the wall time (their
    #: shares sum to about 1); a background share sums busy time over threads, so it can pass 1.
    share: dict[Stage, float]
    #: The consumer's wait for batches over the wall time: how much of the run the loader stalled.
    stall: float
    images_per_s: float
    cpu_ms_per_image: float
    peak_rss: int
    images: int
    batches: int
    wall_s: float
    #: Per queue (``read_ahead``, ``python_workers``) its sampled depth: (mean, max). Epochs
    #: carry them; a window of batches does not.
    queues: dict[str, tuple[float, int]] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """A JSON-ready dict (the JSON lines exporter's fields)."""
        return {
            "images": self.images,
            "batches": self.batches,
            "wall_s": round(self.wall_s, 6),
            "images_per_s": round(self.images_per_s, 3),
            "stall": round(self.stall, 6),
            "cpu_ms_per_image": round(self.cpu_ms_per_image, 6),
            "peak_rss_mb": round(self.peak_rss / 2**20, 3),
            "ms_per_image": {s: round(v, 6) for s, v in self.ms_per_image.items()},
            "share": {s: round(v, 6) for s, v in self.share.items()},
            "queues": {q: {"mean": round(m, 3), "max": x} for q, (m, x) in self.queues.items()},
        }

    def scalars(self) -> dict[str, float]:
        """Flat name -> value (TensorBoard's tags, before a prefix)."""
        flat = {
            "images_per_s": self.images_per_s,
            "stall": self.stall,
            "cpu_ms_per_image": self.cpu_ms_per_image,
            "peak_rss_mb": self.peak_rss / 2**20,
        }
        flat.update({f"ms_per_image/{s}": v for s, v in self.ms_per_image.items()})
        for queue, (mean, most) in self.queues.items():
            flat[f"queue/{queue}/mean"], flat[f"queue/{queue}/max"] = mean, float(most)
        return flat


def figures(snapshot: ProfileSnapshot, *, cpu_ms_per_image: float | None = None) -> Figures:
    """Read ``snapshot``; ``cpu_ms_per_image`` overrides its own (a window carries no CPU time)."""
    wall = snapshot.wall_s
    wait = sum(snapshot.seconds(s) for s in WAIT_STAGES)
    return Figures(
        ms_per_image={s: snapshot.per_image_ms(s) for s in STAGES},
        share={s: snapshot.seconds(s) / wall if wall > 0 else 0.0 for s in STAGES},
        stall=wait / wall if wall > 0 else 0.0,
        images_per_s=snapshot.images_per_s,
        cpu_ms_per_image=(
            snapshot.cpu_ms_per_image if cpu_ms_per_image is None else cpu_ms_per_image
        ),
        peak_rss=snapshot.peak_rss,
        images=snapshot.images,
        batches=snapshot.batches,
        wall_s=wall,
        queues=dict(snapshot.queues),
    )


class WindowSampler:
    """Figures of the profile's last batches (its window), with the CPU time per image measured
    between two samples of the epoch in progress (a window carries no CPU time): what the
    periodic exporters report. Outside an epoch the CPU figure is 0."""

    def __init__(self) -> None:
        self._last: tuple[float, int, int] | None = None  # cpu_s, images, epochs done

    def sample(self, profile: Profile) -> Figures:
        current = profile.current_epoch()
        rate = 0.0
        if current is None:
            self._last = None
        else:
            rate = current.cpu_ms_per_image
            done = len(profile.epochs)
            last = self._last
            if last is not None and last[2] == done and current.images > last[1]:
                rate = 1e3 * (current.cpu_s - last[0]) / (current.images - last[1])
            self._last = (current.cpu_s, current.images, done)
        return figures(profile.recent(), cpu_ms_per_image=rate)


def epoch_of(profile: Profile, snapshot: ProfileSnapshot, *, default: int) -> int:
    """The number under which ``profile.epochs`` keeps ``snapshot`` (``default`` if none)."""
    return next((k for k, v in profile.epochs.items() if v is snapshot), default)


class Periodic(ABC):
    """Base of the exporters: counts batches, reports the window every ``every`` batches and
    each finished epoch. Subclasses write ``_window`` and ``_epoch``; usable as a plain
    ``(profile) -> None`` callback after each batch, or as an observer."""

    def __init__(self, every: int) -> None:
        if every < 1:
            raise ValueError(f"every: expected >= 1, got {every}")
        self.every = every
        self.batches = 0  # batches seen: the step of every record
        #: The epoch in progress: the last finished one's number + 1 (0 before any).
        self.epoch = 0
        self._sampler = WindowSampler()

    def batch_done(self, profile: Profile) -> None:
        self.batches += 1
        if self.batches % self.every == 0:
            self._window(profile, self._sampler.sample(profile))

    def __call__(self, profile: Profile) -> None:
        self.batch_done(profile)

    def epoch_done(self, profile: Profile, snapshot: ProfileSnapshot) -> None:
        epoch = epoch_of(profile, snapshot, default=self.epoch)
        self.epoch = epoch + 1
        self._epoch(profile, snapshot, epoch)

    def close(self) -> None:  # noqa: B027 - optional: exporters holding a file override it
        """Nothing to release by default."""

    @abstractmethod
    def _window(self, profile: Profile, reading: Figures) -> None:
        """Export the window's figures (every ``every`` batches)."""

    @abstractmethod
    def _epoch(self, profile: Profile, snapshot: ProfileSnapshot, epoch: int) -> None:
        """Export a finished epoch's figures."""


__all__ = ["WAIT_STAGES", "Figures", "Periodic", "WindowSampler", "epoch_of", "figures"]
