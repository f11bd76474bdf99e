"""DALI vs the reference backend end to end on audio features (the per-op bounds are in
tests/ops/audio): what the two executors' log-mel features share where there is signal."""

from __future__ import annotations

import pytest
import torch

from dali_pipelines import DataLoader
from tests.loader.test_audio_loader import Clips

pytestmark = pytest.mark.integration

LOG_MEL = {
    "audio": {"sample_rate": 16000},
    "ops": [{"op": "spectrogram"}, {"op": "mel_filter_bank", "n_mels": 80}, {"op": "to_decibels"}],
}


def _features(clips: Clips, backend: str) -> list[tuple[torch.Tensor, ...]]:
    loader = DataLoader(clips, LOG_MEL, batch_size=8, backend=backend, seed=3)
    return [tuple(t.clone() for t in batch) for batch in loader]


def test_log_mel_features_agree_within_40_db_of_the_peak() -> None:
    """Within 40 dB of each utterance's peak the backends differ by < 1 dB (measured 0.57 dB on
    these clips, 0.72 dB on the demo set). Below that, the resamplers' own floors differ: an 8 kHz
    file upsampled has no content above 4 kHz, where DALI's interpolator leaves images at -60 to
    -80 dB and soxr's lie below -120 dB, so those bins are not comparable sample by sample."""
    clips = Clips(12, seed=4)
    for (x, lx, _), (y, ly, _) in zip(
        _features(clips, "dali"), _features(clips, "reference"), strict=True
    ):
        assert torch.equal(lx, ly)
        for k, frames in enumerate(lx.tolist()):
            a, b = x[k, :, :frames], y[k, :, :frames]
            keep = (a > -40) & (b > -40)
            assert keep.any()
            assert float((a - b)[keep].abs().max()) < 1.0
