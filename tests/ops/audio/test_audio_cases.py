"""Every registered audio op, every case of AUDIO_CASES: shape rule, drawn sizes, DALI vs the
op's reference within its stated bound, determinism of the draws."""

from __future__ import annotations

import numpy as np

from dali_pipelines.ops import registered_ops

from . import harness
from .cases import AUDIO_CASES
from .conftest import ALL_CASES
from .harness import AudioRun


def test_every_registered_audio_op_has_cases() -> None:
    audio = {name for name, op in registered_ops().items() if op.modality == "audio"}
    missing = sorted(audio - set(AUDIO_CASES))
    assert not missing, f"audio ops without an AUDIO_CASES entry: {missing}"
    assert not set(AUDIO_CASES) - audio, "AUDIO_CASES names ops that are not audio ops"
    for name, cases in AUDIO_CASES.items():
        assert len(cases) >= 2, f"{name}: expected several cases, got {len(cases)}"
        assert all(case.op == name for case in cases), name
        assert len({case.id for case in cases}) == len(cases), f"{name}: duplicate case ids"


def test_shape_rule_matches_dali(audio_run: AudioRun) -> None:
    run = audio_run
    for k, (op, _) in enumerate(run.chain):
        harness.check_state(run.states[k + 1], run.dali[k], f"dali {op.name}", run.frame_inputs(k))


def test_shape_rule_matches_reference(audio_run: AudioRun) -> None:
    run = audio_run
    last = len(run.chain) - 1
    harness.check_state(run.states[-1], run.reference, "reference", run.frame_inputs(last))


def test_drawn_sizes_match_outputs(audio_run: AudioRun) -> None:
    run = audio_run
    for s, (sizes, per_op) in enumerate(zip(run.draws.sizes, run.draws.args, strict=True)):
        for k, (op, p) in enumerate(run.chain):
            assert run.dali[k][s].shape == sizes[k + 1], f"{op.name}, sample {s}"
            assert set(per_op[k]) == set(op.arg_names(p)), op.name
        assert run.reference[s].shape == sizes[-1], f"reference, sample {s}"


def test_inputs_not_mutated(audio_run: AudioRun) -> None:
    for wave, original in zip(audio_run.waves, audio_run.originals, strict=True):
        np.testing.assert_array_equal(wave, original)


def test_dali_matches_reference_within_bound(audio_run: AudioRun) -> None:
    """Each op on DALI's own input: its reference vs its DALI output, within its stated bound."""
    run = audio_run
    for k, (op, p) in enumerate(run.chain):
        bound = op.bound(p).float_abs
        d = run.step_diff(k)
        assert d <= bound, f"{op.name}: DALI vs reference max abs {d:.3g} > stated {bound:g}"


def test_same_seed_same_args(audio_run: AudioRun) -> None:
    run = audio_run
    again = harness.draw_all(run.chain, run.states, run.waves, run.case.seed)
    assert again.sizes == run.draws.sizes
    for x, y in zip(again.args, run.draws.args, strict=True):
        for dx, dy in zip(x, y, strict=True):
            assert dx.keys() == dy.keys()
            for k in dx:
                np.testing.assert_array_equal(dx[k], dy[k])


def test_args_uniform_across_samples(audio_run: AudioRun) -> None:
    """DALI argument inputs need one dtype and ndim for every sample of a batch."""
    run = audio_run
    for k, (op, p) in enumerate(run.chain):
        for name in op.arg_names(p):
            kinds = {(a[k][name].dtype, a[k][name].ndim) for a in run.draws.args}
            assert len(kinds) == 1, f"{op.name}.{name}: {kinds}"


def test_random_ops_vary_with_the_seed() -> None:
    """A random audio op draws different args for different seeds (over a few seeds)."""
    seen: set[str] = set()
    for case in ALL_CASES:
        op, p = harness.resolve(case.chain)[-1]
        if not op.random or op.name in seen:
            continue
        chain = harness.resolve(case.chain)
        waves = harness.make_waves(case)
        states = harness.infer_states(chain, harness.input_state(waves, case.rate))
        draws = [harness.draw_all(chain, states, waves, seed).args for seed in range(8)]
        flat = [[a[-1][name] for a in d for name in op.arg_names(p)] for d in draws]
        if any(
            not all(np.array_equal(x, y) for x, y in zip(f, flat[0], strict=True)) for f in flat[1:]
        ):
            seen.add(op.name)
    random_ops = {n for n, o in registered_ops().items() if o.modality == "audio" and o.random}
    assert random_ops <= seen, f"draw the same args for every seed: {sorted(random_ops - seen)}"
