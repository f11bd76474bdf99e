"""Run audio op chains through a real DALI CPU pipeline and through each op's ``reference``.

Generic over any chain whose input is a wave: waves are made here as (C, T) float32 numpy
arrays (the reference layout) and fed to DALI as ``(T,)`` mono or ``(T, C)`` (what
``fn.decoders.audio`` gives). Every op's args are drawn once per sample, in chain order, from the
seed policy's own generator (:func:`dali_pipelines.plan.draws.sample_rng`, Philox), then fed to
DALI as one ``external_source`` output each and handed to ``reference``: both sides see the same
numbers.

DALI returns the output of every op of the chain, so each op is compared on its own: its
``reference`` applied to DALI's output of the op before it, against DALI's output of the op,
within the op's stated ``bound(p).float_abs``. A chain's setup ops (a resample before a
spectrogram) are then checked too, and one op's error does not count against the next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from dali_pipelines.ops import DaliContext, get_op
from dali_pipelines.ops.audio.base import AudioOp
from dali_pipelines.ops.base import Args, OpParams, Size
from dali_pipelines.ops.state import AudioState
from dali_pipelines.plan.draws import sample_rng

Chain = Sequence[tuple[AudioOp[Any], OpParams]]
#: What a test wave holds; "mix" cycles tone, chirp, noise over the batch's samples.
Signal = Literal["tone", "chirp", "noise", "silence", "mix"]
MIX: tuple[Signal, ...] = ("tone", "chirp", "noise")


@dataclass(frozen=True)
class AudioCase:
    """A short chain whose last op is the op under test, and the waves it runs on."""

    id: str
    chain: tuple[dict[str, Any], ...]
    #: Samples per wave, one per sample of the batch (equal lengths give a fixed-length state).
    lengths: tuple[int, ...] = (16000, 12345, 4001)
    channels: int = 1
    rate: int = 16000
    signal: Signal = "mix"
    seed: int = 0

    @property
    def op(self) -> str:
        return str(self.chain[-1]["op"])


def resolve(chain: Sequence[dict[str, Any]]) -> list[tuple[AudioOp[Any], OpParams]]:
    """Param dicts -> (audio op, validated params)."""
    out = []
    for entry in chain:
        op = get_op(entry["op"])
        assert isinstance(op, AudioOp), f"{entry['op']} is not an audio op"
        out.append((op, op.Params.model_validate(entry)))
    return out


# -- waves ------------------------------------------------------------------------------------


def make_wave(
    signal: Signal, channels: int, length: int, rate: int, rng: np.random.Generator
) -> np.ndarray:
    """One (C, T) float32 wave in [-1, 1]: a few tones, a linear chirp across most of the band,
    white noise, or zeros. Channels differ (other frequencies, phases, noise)."""
    t = np.arange(length, dtype=np.float64) / rate
    rows = []
    for _ in range(channels):
        if signal == "tone":
            freqs = rng.uniform(80.0, 0.2 * rate, size=3)
            phases = rng.uniform(0, 2 * np.pi, size=3)
            row = sum(np.sin(2 * np.pi * f * t + ph) for f, ph in zip(freqs, phases)) / 4.0
        elif signal == "chirp":
            # 50 Hz up to 0.4 * rate over the wave: content up to near Nyquist, where
            # resampling filters differ most.
            duration = max(length / rate, 1e-9)
            f1 = 0.4 * rate
            row = 0.6 * np.sin(2 * np.pi * (50.0 * t + (f1 - 50.0) * t**2 / (2 * duration)))
        elif signal == "noise":
            row = np.clip(rng.normal(0.0, 0.25, size=length), -1.0, 1.0)
        else:
            row = np.zeros(length)
        rows.append(np.asarray(row, dtype=np.float64))
    return np.stack(rows).astype(np.float32)


def make_waves(case: AudioCase) -> list[np.ndarray]:
    rng = np.random.default_rng(case.seed)
    signals = MIX if case.signal == "mix" else (case.signal,)
    return [
        make_wave(signals[i % len(signals)], case.channels, n, case.rate, rng)
        for i, n in enumerate(case.lengths)
    ]


def to_dali(x: np.ndarray, state: AudioState) -> np.ndarray:
    """Reference layout -> DALI's: a mono wave (1, T) -> (T,), a wave (C, T) -> (T, C);
    features stay (F, T')."""
    if not state.is_wave:
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(x[0] if state.channels == 1 else x.T)


def from_dali(x: np.ndarray, state: AudioState) -> np.ndarray:
    """DALI's layout -> the reference's (the inverse of :func:`to_dali`)."""
    if not state.is_wave:
        return x
    return x[None, :] if x.ndim == 1 else np.ascontiguousarray(x.T)


# -- states and draws -------------------------------------------------------------------------


def input_state(waves: Sequence[np.ndarray], rate: int) -> AudioState:
    lengths = {w.shape[1] for w in waves}
    length = next(iter(lengths)) if len(lengths) == 1 else None
    return AudioState(channels=waves[0].shape[0], sample_rate=rate, length=length)


def infer_states(chain: Chain, first: AudioState) -> list[AudioState]:
    """The state before each op, then the final one (len(chain) + 1 states)."""
    states = [first]
    for op, p in chain:
        states.append(op.infer(p, states[-1]))
    return states


@dataclass(frozen=True)
class Draws:
    #: args[sample][op]
    args: list[list[Args]]
    #: sizes[sample][k]: the size each op received, then the final size (len(chain) + 1).
    sizes: list[list[Size]]


def draw_all(
    chain: Chain, states: Sequence[AudioState], waves: Sequence[np.ndarray], seed: int
) -> Draws:
    """Every op's args along the chain, one seed-policy generator per sample (epoch 0)."""
    args, sizes = [], []
    for index, wave in enumerate(waves):
        rng = sample_rng(seed, 0, index, fresh=True)
        size: Size = (int(wave.shape[0]), int(wave.shape[1]))
        per_op, seen = [], [size]
        for (op, p), state in zip(chain, states, strict=False):
            drawn, size = op.draw_state(p, state, size, rng)
            per_op.append(drawn)
            seen.append((int(size[0]), int(size[1])))
        args.append(per_op)
        sizes.append(seen)
    return Draws(args, sizes)


# -- execution --------------------------------------------------------------------------------


def run_dali(
    chain: Chain,
    states: Sequence[AudioState],
    waves: Sequence[np.ndarray],
    args: Sequence[Sequence[Args]],
) -> list[list[np.ndarray]]:
    """One batch through a DALI CPU pipeline: outs[k][sample] is op k's output, in the
    reference layout (so outs[-1] is the chain's output)."""
    import nvidia.dali.fn as fn
    from nvidia.dali import pipeline_def

    names = [(i, name) for i, (op, p) in enumerate(chain) for name in op.arg_names(p)]
    first = [to_dali(w, states[0]) for w in waves]
    # np.array, not np.ascontiguousarray (which makes 0-d arrays 1-d): the shapes the loader
    # feeds.
    batches = [first] + [[np.array(a[i][k], order="C") for a in args] for i, k in names]

    @pipeline_def(batch_size=len(waves), num_threads=2, device_id=None, prefetch_queue_depth=1)
    def pipe() -> Any:
        nodes = fn.external_source(source=lambda: batches, num_outputs=len(batches), batch=True)
        node = nodes[0]
        op_args: list[dict[str, Any]] = [{} for _ in chain]
        for (i, name), arg in zip(names, nodes[1:], strict=True):
            op_args[i][name] = arg
        outs = []
        for i, (op, p) in enumerate(chain):
            node = op.build_dali(p, node, op_args[i], DaliContext(device="cpu", state=states[i]))
            outs.append(node)
        return tuple(outs)

    pipeline = pipe()
    results = pipeline.run()
    return [
        [from_dali(np.array(out[s]), states[k + 1]) for s in range(len(waves))]
        for k, out in enumerate(results)
    ]


def reference_step(
    op: AudioOp[Any], p: OpParams, state: AudioState, x: np.ndarray, args: Args
) -> np.ndarray:
    """One op's reference on one sample in the reference layout (numpy in and out)."""
    # torch is imported here, not at the top: the table (cases.py) imports this module, and
    # tests/adversarial loads the table in a memory-limited child where torch cannot map.
    import torch

    out = op.reference(p, state, torch.from_numpy(np.array(x, dtype=np.float32)), args)
    assert isinstance(out, torch.Tensor), f"{op.name}.reference returned {type(out).__name__}"
    return out.detach().to(torch.float32).contiguous().numpy()


def run_reference(
    chain: Chain,
    states: Sequence[AudioState],
    waves: Sequence[np.ndarray],
    args: Sequence[Sequence[Args]],
) -> list[np.ndarray]:
    """The chain through the references alone (no DALI anywhere)."""
    outs = []
    for wave, per_op in zip(waves, args, strict=True):
        x = wave
        for (op, p), state, a in zip(chain, states, per_op, strict=False):
            x = reference_step(op, p, state, x, a)
        outs.append(x)
    return outs


def max_abs_diff(a: Sequence[np.ndarray], b: Sequence[np.ndarray]) -> float:
    """Largest absolute difference over a batch (shapes must match)."""
    worst = 0.0
    for x, y in zip(a, b, strict=True):
        assert x.shape == y.shape, f"shape {x.shape} != {y.shape}"
        if x.size:
            worst = max(worst, float(np.abs(x.astype(np.float64) - y.astype(np.float64)).max()))
    return worst


def check_state(
    state: AudioState, outputs: Sequence[np.ndarray], who: str, inputs: Sequence[Size] = ()
) -> None:
    """The observed outputs (reference layout) are what the shape rule said: rows (channels or
    bins), length, dtype, value range; and, where ``state.frames`` is set and ``inputs`` gives
    the wave sizes the features came from, the frame count."""
    for k, out in enumerate(outputs):
        assert out.ndim == 2, f"{who}: expected (rows, T), got shape {out.shape}"
        assert out.shape[0] == state.rows, f"{who}: rows {out.shape[0]} != {state}"
        if state.length is not None:
            assert out.shape[1] == state.length, f"{who}: length {out.shape[1]} != {state}"
        if state.frames is not None and k < len(inputs):
            frames = state.frames.frames(inputs[k][1])
            assert out.shape[1] == frames, f"{who}: {out.shape[1]} frames, rule says {frames}"
        assert out.dtype == np.float32, f"{who}: dtype {out.dtype} != {state.dtype}"
        assert np.isfinite(out).all(), f"{who}: non-finite values"
        if state.value_range is not None and out.size:
            lo, hi = state.value_range
            slack = 1e-3 * max(1.0, hi - lo)
            assert out.min() >= lo - slack and out.max() <= hi + slack, (
                f"{who}: values [{out.min()}, {out.max()}] outside {state.value_range}"
            )


@dataclass(frozen=True)
class AudioRun:
    """One case executed: draws, states, DALI's output of every op and the pure reference."""

    case: AudioCase
    chain: list[tuple[AudioOp[Any], OpParams]]
    waves: list[np.ndarray]
    originals: list[np.ndarray]
    draws: Draws
    states: list[AudioState]
    #: dali[k][sample]: op k's DALI output (reference layout).
    dali: list[list[np.ndarray]]
    #: The chain through the references alone.
    reference: list[np.ndarray] = field(default_factory=list)

    def dali_input(self, k: int) -> list[np.ndarray]:
        """What op k received in DALI (the waves for the first op)."""
        return self.waves if k == 0 else self.dali[k - 1]

    def frame_inputs(self, k: int) -> list[Size]:
        """The wave sizes op k turned into features (its frames follow from them), or ``[]``
        where op k's input is not a wave or its output is."""
        if not self.states[k].is_wave or self.states[k + 1].is_wave:
            return []
        return [(int(x.shape[0]), int(x.shape[1])) for x in self.dali_input(k)]

    def step_diff(self, k: int) -> float:
        """Op k's DALI output vs its reference applied to the same (DALI) input."""
        op, p = self.chain[k]
        refs = [
            reference_step(op, p, self.states[k], x, per_op[k])
            for x, per_op in zip(self.dali_input(k), self.draws.args, strict=True)
        ]
        return max_abs_diff(self.dali[k], refs)


def execute(case: AudioCase) -> AudioRun:
    chain = resolve(case.chain)
    waves = make_waves(case)
    originals = [w.copy() for w in waves]
    states = infer_states(chain, input_state(waves, case.rate))
    draws = draw_all(chain, states, waves, case.seed)
    dali = run_dali(chain, states, waves, draws.args)
    reference = run_reference(chain, states, waves, draws.args)
    return AudioRun(case, chain, waves, originals, draws, states, dali, reference)
