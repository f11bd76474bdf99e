"""The feature ops beyond the case table: DALI's frame count vs FrameRule over many lengths,
DALI's mel basis vs librosa's, DALI's normalize epsilon and erase edges, the mask draws, and
the params and shape rules' refusals."""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from dali_pipelines.ops import get_op
from dali_pipelines.ops.audio._masks import draw_masks
from dali_pipelines.ops.audio.mel_filter_bank import empty_filters
from dali_pipelines.ops.audio.spectrogram import window_samples
from dali_pipelines.ops.state import AudioState, ChainError, FrameRule

from . import harness

WAVE = AudioState()


def _run(chain: list[dict[str, Any]], inputs: list[np.ndarray], state: AudioState) -> list[Any]:
    """``inputs`` (reference layout) through the DALI chain; the last op's outputs."""
    resolved = harness.resolve(chain)
    states = harness.infer_states(resolved, state)
    args = [[{} for _ in resolved] for _ in inputs]
    return harness.run_dali(resolved, states, inputs, args)[-1]


def _waves(lengths: list[int]) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [rng.uniform(-1, 1, size=(1, n)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize(
    ("window", "hop", "center"),
    [(400, 160, True), (400, 160, False), (512, 512, False), (401, 128, False), (64, 100, False)],
)
def test_dali_frame_count_is_frame_rule(window: int, hop: int, center: bool) -> None:
    rule = FrameRule(window=window, hop=hop, center=center)
    lengths = [n for n in [*range(1, 1200, 7), window - hop, window - hop + 1, window, 16000]]
    lengths = sorted({n for n in lengths if n > 0 and rule.frames(n) > 0})
    spec = {"op": "spectrogram", "n_fft": 512, "win_length": window, "hop_length": hop}
    outs = _run([{**spec, "center": center}], _waves(lengths), WAVE)
    got = {n: int(out.shape[1]) for n, out in zip(lengths, outs, strict=True)}
    assert got == {n: rule.frames(n) for n in lengths}
    # Shorter than a window by less than a hop: one window, not (T - window) // hop + 1 = 0.
    if not center and hop > 1:
        assert rule.frames(window - hop + 1) == 1


def test_dali_refuses_what_the_frame_rule_counts_as_no_frame() -> None:
    rule = FrameRule(window=400, hop=160, center=False)
    assert rule.frames(240) == 0
    chain = [{"op": "spectrogram", "win_length": 400, "hop_length": 160, "center": False}]
    with pytest.raises(RuntimeError, match="Signal is too short"):
        _run(chain, _waves([240]), WAVE)


def test_short_fixed_wave_without_center_is_refused_by_the_shape_rule() -> None:
    op = get_op("spectrogram")
    p = op.Params.model_validate({"op": "spectrogram", "center": False})
    with pytest.raises(ChainError) as info:
        op.infer(p, WAVE.model_copy(update={"length": 240}))
    assert info.value.field == "win_length"
    assert op.infer(p, WAVE.model_copy(update={"length": 241})).length == 1


@pytest.mark.parametrize(
    ("n_fft", "n_mels", "fmin", "fmax", "norm", "scale", "rate"),
    [
        (512, 80, 0.0, None, "slaney", "slaney", 16000),
        (400, 40, 20.0, 7600.0, None, "htk", 16000),
        (256, 40, 0.0, None, "slaney", "htk", 8000),
        (1024, 128, 300.0, 4000.0, None, "slaney", 16000),
        (2048, 96, 0.0, None, "slaney", "slaney", 44100),
    ],
)
def test_dali_mel_basis_is_librosa(
    n_fft: int, n_mels: int, fmin: float, fmax: float | None, norm: Any, scale: str, rate: int
) -> None:
    """An identity "spectrogram" makes DALI output its basis, column by column."""
    import librosa

    bins = n_fft // 2 + 1
    state = AudioState(kind="spectrogram", sample_rate=rate, bins=bins, power=2)
    params = {"fmin": fmin, "fmax": fmax, "norm": norm, "mel_scale": scale}
    chain = [{"op": "mel_filter_bank", "n_mels": n_mels, **params}]
    (dali,) = _run(chain, [np.eye(bins, dtype=np.float32)], state)
    basis = librosa.filters.mel(
        sr=rate, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax, htk=scale == "htk", norm=norm
    )
    np.testing.assert_allclose(dali, basis, rtol=0, atol=2e-5 * float(np.abs(basis).max()))


@pytest.mark.parametrize(
    ("n_fft", "n_mels", "fmin", "fmax"),
    [
        (256, 128, 0.0, None),
        (512, 128, 0.0, None),
        (512, 80, 0.0, 8000.0),
        (128, 64, 0.0, None),
        (400, 60, 4000.0, 4400.0),
        (2048, 256, 0.0, None),
    ],
)
def test_empty_filters_are_what_librosa_warns_about(
    n_fft: int, n_mels: int, fmin: float, fmax: float | None
) -> None:
    import librosa

    op = get_op("mel_filter_bank")
    p = op.Params.model_validate(
        {"op": "mel_filter_bank", "n_mels": n_mels, "fmin": fmin, "fmax": fmax}
    )
    bins = n_fft // 2 + 1
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        librosa.filters.mel(sr=16000, n_fft=n_fft, n_mels=n_mels, fmin=fmin, fmax=fmax)
    warned = any("Empty filters" in str(w.message) for w in caught)
    empty = empty_filters(p, bins, 16000.0)
    assert (empty > 0) == warned
    state = AudioState(kind="spectrogram", bins=bins, power=2)
    if empty:
        with pytest.raises(ChainError, match="n_mels: expected filters that each cover"):
            op.infer(p, state)
    else:
        assert op.infer(p, state).bins == n_mels


def test_dali_normalize_adds_epsilon_to_the_variance() -> None:
    """(x - mean) / sqrt(var + eps), biased variance; not (x - mean) / (std + eps)."""
    rng = np.random.default_rng(1)
    scales = np.array([[0.01], [0.3], [1.0], [0.0]])
    x = (rng.standard_normal((4, 50)) * scales + 3.0).astype(np.float32)
    state = AudioState(kind="decibels", bins=4, value_range=None)
    (dali,) = _run([{"op": "utterance_norm", "epsilon": 0.5}], [x], state)
    v = x.astype(np.float64)
    centred = v - v.mean(axis=1, keepdims=True)
    expected = centred / np.sqrt(v.var(axis=1, keepdims=True) + 0.5)
    np.testing.assert_allclose(dali, expected, atol=1e-5)
    assert not np.allclose(dali, centred / (v.std(axis=1, keepdims=True) + 0.5), atol=1e-3)


def test_dali_erase_zero_width_and_edges_as_the_reference() -> None:
    """Width 0 erases nothing, a region past the end is clipped, overlaps are unions."""
    state = AudioState(kind="decibels", bins=3, value_range=None)
    x = np.arange(1, 31, dtype=np.float32).reshape(3, 10)
    args = {"anchor": np.array([2, 8, 0, 3], np.float32), "shape": np.array([0, 5, 2, 1], "f4")}
    op = get_op("time_mask")
    p = op.Params.model_validate({"op": "time_mask", "num_masks": 4})
    resolved = [(op, p)]
    dali = harness.run_dali(resolved, [state, state], [x], [[args]])[-1][0]
    expected = x.copy()
    expected[:, [0, 1, 3, 8, 9]] = 0
    np.testing.assert_array_equal(dali, expected)
    reference = op.reference(p, state, torch.from_numpy(x), args).numpy()
    np.testing.assert_array_equal(reference, expected)


def test_mask_draws_fit_and_cover_every_width() -> None:
    rng = np.random.default_rng(0)
    widths: set[int] = set()
    for extent in (1, 5, 80, 300):
        for _ in range(300):
            drawn = draw_masks(rng, 3, 6, extent, applied=True)
            starts, shapes = drawn["anchor"], drawn["shape"]
            assert starts.dtype == shapes.dtype == np.float32
            assert shapes.shape == starts.shape == (3,)
            assert (shapes >= 0).all() and (shapes <= min(6, extent)).all()
            assert (starts >= 0).all() and (starts + shapes <= extent).all()
            widths.update(int(w) for w in shapes)
    assert widths == set(range(7))
    assert not draw_masks(rng, 3, 6, 80, applied=False)["shape"].any()


def test_time_mask_cap_follows_max_fraction() -> None:
    op = get_op("time_mask")
    p = op.Params.model_validate({"op": "time_mask", "max_width": 100, "max_fraction": 0.1})
    state = AudioState(kind="decibels", bins=80, value_range=None)
    rng = np.random.default_rng(0)
    for frames in (5, 37, 101, 5000):
        for _ in range(50):
            args, size = op.draw_state(p, state, (80, frames), rng)
            assert size == (80, frames)
            assert args["shape"].max() <= min(100, int(0.1 * frames))


def test_window_is_torchs_periodic_window() -> None:
    for kind, make in (("hann", torch.hann_window), ("hamming", torch.hamming_window)):
        for n in (1, 2, 400, 401):
            expected = make(n, periodic=True, dtype=torch.float64).numpy()
            np.testing.assert_allclose(window_samples(kind, n), expected, atol=1e-7)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"op": "spectrogram", "n_fft": 256}, "win_length: expected <= n_fft (256), got 400"),
        ({"op": "spectrogram", "power": True}, "expected an int, got True"),
        ({"op": "spectrogram", "power": 3}, "power"),
        ({"op": "spectrogram", "n_fft": "512"}, "n_fft"),
        ({"op": "spectrogram", "center": 1}, "center"),
        ({"op": "mel_filter_bank", "fmin": 300, "fmax": 200}, "fmax: expected > fmin (300)"),
        ({"op": "to_decibels", "multiplier": 15}, "multiplier"),
        ({"op": "to_decibels", "cutoff_db": 10}, "cutoff_db"),
        ({"op": "to_decibels", "reference": 0}, "reference"),
        ({"op": "mfcc", "n_mfcc": 0}, "n_mfcc"),
        ({"op": "utterance_norm", "epsilon": -1}, "epsilon"),
        ({"op": "time_mask", "max_fraction": 0}, "max_fraction"),
        ({"op": "freq_mask", "num_masks": 0}, "num_masks"),
        ({"op": "freq_mask", "p": 1.5}, "p"),
    ],
)
def test_params_refused(entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=re.escape(message)):
        get_op(entry["op"]).Params.model_validate(entry)


MEL = AudioState(kind="mel", bins=40, power=2, value_range=None)


@pytest.mark.parametrize(
    ("entry", "state", "field", "expected"),
    [
        ({"op": "spectrogram"}, AudioState(channels=2), "input", "downmix in the decode"),
        ({"op": "spectrogram"}, MEL, "input", "a wave"),
        ({"op": "mel_filter_bank"}, WAVE, "input", "spectrogram"),
        (
            {"op": "mel_filter_bank", "fmax": 9000},
            AudioState(kind="spectrogram", bins=257, power=2),
            "fmax",
            "<= 8000 Hz",
        ),
        (
            {"op": "mel_filter_bank", "fmin": 8000},
            AudioState(kind="spectrogram", bins=257, power=2),
            "fmin",
            "< fmax (8000 Hz)",
        ),
        ({"op": "to_decibels"}, MEL.model_copy(update={"power": None}), "multiplier", "10 or 20"),
        ({"op": "to_decibels"}, AudioState(kind="decibels", bins=40), "input", "spectrogram"),
        ({"op": "mfcc"}, MEL, "input", "decibels"),
        (
            {"op": "mfcc", "n_mfcc": 41},
            MEL.model_copy(update={"kind": "decibels"}),
            "n_mfcc",
            "<= 40",
        ),
        ({"op": "utterance_norm"}, WAVE, "input", "features"),
        ({"op": "time_mask"}, WAVE, "input", "features"),
        ({"op": "freq_mask"}, WAVE, "input", "features"),
    ],
)
def test_shape_rule_refusals(
    entry: dict[str, Any], state: AudioState, field: str, expected: str
) -> None:
    op = get_op(entry["op"])
    with pytest.raises(ChainError) as info:
        op.infer(op.Params.model_validate(entry), state)
    assert info.value.field == field
    assert expected in info.value.expected


def test_feature_states_along_a_chain() -> None:
    """spectrogram -> mel -> decibels -> mfcc -> utterance_norm -> masks: kinds, bins, the
    frame rule, the length of a fixed-length wave and the power the multiplier follows."""
    chain = harness.resolve(
        [
            {"op": "spectrogram", "power": 1},
            {"op": "mel_filter_bank", "n_mels": 64},
            {"op": "to_decibels"},
            {"op": "mfcc", "n_mfcc": 20},
            {"op": "utterance_norm"},
            {"op": "time_mask"},
            {"op": "freq_mask"},
        ]
    )
    states = harness.infer_states(chain, WAVE.model_copy(update={"length": 16000}))
    kinds = [s.kind for s in states]
    assert kinds == ["wave", "spectrogram", "mel", "decibels", "mfcc", "mfcc", "mfcc", "mfcc"]
    assert [s.bins for s in states[1:]] == [257, 64, 64, 20, 20, 20, 20]
    assert {s.length for s in states[1:]} == {101}
    assert {s.frames for s in states[1:]} == {FrameRule(window=400, hop=160)}
    assert [s.power for s in states[1:4]] == [1, 1, None]
    mult = get_op("to_decibels")
    assert mult.multiplier(chain[2][1], states[2]) == 20
