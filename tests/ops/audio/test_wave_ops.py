"""The wave ops beyond the table: refused params and chains, what their draws cover, the
direction of shifts and speed changes, and the DALI behaviour the resampling design rests on."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from dali_pipelines.ops import ChainError, get_op
from dali_pipelines.ops.audio.base import resampled_length
from dali_pipelines.ops.state import AudioState
from dali_pipelines.plan.draws import sample_rng

from . import harness

N = 2000
MEL = AudioState(kind="mel", bins=80, value_range=None)

# (op, bad params, what the message must say)
BAD_PARAMS: list[tuple[str, dict[str, Any], str]] = [
    ("resample", {}, "rate"),
    ("resample", {"rate": 500}, "rate"),
    ("resample", {"rate": 16000.0}, "rate"),
    ("resample", {"rate": True}, "rate"),
    ("fix_duration", {"seconds": 0}, "seconds"),
    ("fix_duration", {"seconds": -1.0}, "seconds"),
    ("fix_duration", {"seconds": 1.0, "position": "end"}, "position"),
    ("fix_duration", {"seconds": "1"}, "seconds"),
    ("gain", {"min_db": 6, "max_db": -6}, "max_db: expected >= min_db (6), got -6"),
    ("gain", {"min_db": -200}, "min_db"),
    ("gain", {"p": 1.5}, "p"),
    ("add_noise", {"min_snr_db": 30, "max_snr_db": 10}, "max_snr_db: expected >= min_snr_db"),
    ("add_noise", {"p": -0.1}, "p"),
    ("time_shift", {"max_seconds": 0}, "max_seconds"),
    ("time_shift", {"max_seconds": 0.1, "p": 2}, "p"),
    ("speed_perturb", {"factors": ()}, "factors"),
    ("speed_perturb", {"factors": (0.3,)}, "factors"),
    ("speed_perturb", {"factors": (0.9123,)}, "factors: expected multiples of 0.001"),
    ("speed_perturb", {"factors": (1.0, True)}, "factors"),
]


@pytest.mark.parametrize(("name", "params", "message"), BAD_PARAMS, ids=lambda v: str(v)[:30])
def test_bad_params_name_the_field(name: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError) as info:
        get_op(name).Params.model_validate({"op": name, **params})
    assert message in str(info.value)


WAVE_OPS = {
    "resample": {"rate": 8000},
    "fix_duration": {"seconds": 1.0},
    "gain": {},
    "add_noise": {},
    "time_shift": {"max_seconds": 0.1},
    "speed_perturb": {},
}


@pytest.mark.parametrize("name", sorted(WAVE_OPS))
def test_wave_ops_refuse_features(name: str) -> None:
    op = get_op(name)
    p = op.Params.model_validate({"op": name, **WAVE_OPS[name]})
    with pytest.raises(ChainError) as info:
        op.infer(p, MEL)
    assert info.value.field == "input"
    assert (
        str(info.value) == "input: expected a wave (samples), before spectrogram, got mel features"
    )


def _params(name: str, **params: Any) -> tuple[Any, Any]:
    op = get_op(name)
    return op, op.Params.model_validate({"op": name, **params})


def _draws(name: str, params: dict[str, Any], size: tuple[int, int], state: AudioState) -> list:
    op, p = _params(name, **params)
    return [op.draw_state(p, state, size, sample_rng(3, 0, i, fresh=True)) for i in range(N)]


def test_states_follow_the_length_rules() -> None:
    state = AudioState(sample_rate=44100, length=44101, channels=2)
    op, p = _params("resample", rate=16000)
    out = op.infer(p, state)
    assert (out.sample_rate, out.length, out.channels) == (16000, 16001, 2)
    assert out.length == resampled_length(44101, 44100, 16000)
    assert op.infer(*_params("resample", rate=16000)[1:], AudioState()).length is None
    op, p = _params("speed_perturb", factors=(1.1,))
    assert op.infer(p, AudioState(length=16000)).length == math.ceil(16000 / 1.1)
    op, p = _params("speed_perturb", factors=(0.9, 1.1))
    assert op.infer(p, AudioState(length=16000)).length is None
    op, p = _params("fix_duration", seconds=0.5)
    out = op.infer(p, AudioState(value_range=(0.2, 0.9)))
    assert (out.length, out.value_range) == (8000, (0.0, 0.9))
    op, p = _params("gain", min_db=-6, max_db=6, p=1.0)
    lo, hi = op.infer(p, AudioState()).value_range
    assert hi == pytest.approx(10 ** (6 / 20)) and lo == pytest.approx(-(10 ** (6 / 20)))


def test_gain_db_uniform_in_range_and_p_applies() -> None:
    draws = _draws("gain", {"min_db": -6, "max_db": 12, "p": 0.3}, (1, 100), AudioState())
    db = np.array([20 * math.log10(float(a["factor"])) for a, _ in draws])
    applied = db[np.abs(db) > 1e-9]
    assert abs(len(applied) / N - 0.3) <= 4 * math.sqrt(0.3 * 0.7 / N)
    assert applied.min() >= -6 - 1e-4 and applied.max() <= 12 + 1e-4
    assert abs(applied.mean() - 3) <= 4 * 18 / math.sqrt(12 * len(applied))


def test_time_shift_covers_every_shift_and_delays() -> None:
    draws = _draws("time_shift", {"max_seconds": 0.0005, "p": 1.0}, (1, 100), AudioState())
    shifts = np.array([-int(a["start"][0]) for a, _ in draws])
    assert set(np.unique(shifts)) == set(range(-8, 9))  # 0.0005 s at 16 kHz
    op, p = _params("time_shift", max_seconds=0.1)
    x = torch.arange(1, 11, dtype=torch.float32)[None]
    delayed = op.reference(p, AudioState(), x, {"start": np.array([-3]), "shape": np.array([10])})
    assert delayed.tolist() == [[0, 0, 0, 1, 2, 3, 4, 5, 6, 7]]


def test_fix_duration_random_windows_cover_the_range() -> None:
    crops = _draws("fix_duration", {"seconds": 0.001}, (1, 20), AudioState())  # 16 samples
    assert {int(a["start"][0]) for a, _ in crops} == set(range(0, 5))
    pads = _draws("fix_duration", {"seconds": 0.001}, (1, 12), AudioState())
    assert {int(a["start"][0]) for a, _ in pads} == set(range(-4, 1))
    center = _draws("fix_duration", {"seconds": 0.001, "position": "center"}, (1, 11), AudioState())
    assert {int(a["start"][0]) for a, _ in center} == {-3}  # floor(-5 / 2): 3 before, 2 after


def test_speed_factors_drawn_uniformly() -> None:
    draws = _draws("speed_perturb", {"factors": (0.9, 1.0, 1.1)}, (1, 1000), AudioState())
    factors = [float(a["in_rate"]) / float(a["out_rate"]) for a, _ in draws]
    values, counts = np.unique(np.round(factors, 6), return_counts=True)
    assert values.tolist() == [0.9, 1.0, 1.1]
    assert (np.abs(counts - N / 3) <= 5 * math.sqrt(N / 3)).all()
    assert {size for _, size in draws} == {(1, 1112), (1, 1000), (1, 910)}


def test_add_noise_reaches_the_drawn_snr() -> None:
    op, p = _params("add_noise", min_snr_db=10, max_snr_db=10, p=1.0)
    x = torch.from_numpy(harness.make_wave("tone", 1, 64000, 16000, np.random.default_rng(0)))
    args, _ = op.draw_state(p, AudioState(), (1, 64000), sample_rng(0, 0, 0, fresh=True))
    noise = op.reference(p, AudioState(), x, args) - x
    snr = 10 * math.log10(float((x.double() ** 2).mean() / (noise.double() ** 2).mean()))
    assert snr == pytest.approx(10.0, abs=0.1)


def _dominant_hz(x: np.ndarray, rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(np.argmax(spectrum)) * rate / len(x)


def test_speed_perturb_raises_pitch_and_shortens() -> None:
    """Faster (f > 1) is shorter and higher, like Kaldi's sox speed perturbation."""
    rate, f0 = 16000, 1000.0
    wave = np.sin(2 * np.pi * f0 * np.arange(16000) / rate).astype(np.float32)[None]
    chain = harness.resolve([{"op": "speed_perturb", "factors": [1.25]}])
    states = harness.infer_states(chain, harness.input_state([wave], rate))
    draws = harness.draw_all(chain, states, [wave], 0)
    (out,) = harness.run_dali(chain, states, [wave], draws.args)[-1]
    assert out.shape == (1, 12800)
    assert _dominant_hz(out[0], rate) == pytest.approx(1250.0, abs=2.0)


def _dali_resample_rms(wave: np.ndarray, in_rate: int, out_rate: int) -> float:
    import nvidia.dali.fn as fn
    from nvidia.dali import pipeline_def

    @pipeline_def(batch_size=1, num_threads=1, device_id=None, prefetch_queue_depth=1)
    def pipe() -> Any:
        x = fn.external_source(source=lambda: [wave], batch=True)
        return fn.audio_resample(x, in_rate=float(in_rate), out_rate=float(out_rate))

    (out,) = pipe().run()
    y = np.array(out[0])
    return float(np.sqrt(np.mean(y[200:-200] ** 2)))


def test_fn_audio_resample_aliases_and_resample_does_not() -> None:
    """fn.audio_resample alone folds a 6 kHz tone into the 8 kHz output band at full level
    (why the op filters first); the op removes it, as soxr does."""
    t = np.arange(16000) / 16000
    wave = (0.8 * np.sin(2 * np.pi * 6000 * t)).astype(np.float32)
    assert _dali_resample_rms(wave, 16000, 8000) == pytest.approx(0.8 / math.sqrt(2), rel=0.01)
    chain = harness.resolve([{"op": "resample", "rate": 8000}])
    states = harness.infer_states(chain, harness.input_state([wave[None]], 16000))
    draws = harness.draw_all(chain, states, [wave[None]], 0)
    (out,) = harness.run_dali(chain, states, [wave[None]], draws.args)[-1]
    assert float(np.sqrt(np.mean(out[0, 200:-200] ** 2))) < 1e-3
