"""Every registered op, every case of OP_CASES: DALI vs apply_torch vs torchvision, shape rule."""

from __future__ import annotations

import numpy as np

from dali_pipelines.ops import registered_ops

from . import harness
from .cases import OP_CASES
from .conftest import CaseRun


def test_every_registered_op_has_cases() -> None:
    # Audio ops have their own table (tests/ops/audio/cases.py).
    image = {name for name, op in registered_ops().items() if op.modality != "audio"}
    missing = sorted(image - set(OP_CASES))
    assert not missing, f"ops without an OP_CASES entry: {missing}"
    for name, cases in OP_CASES.items():
        assert len(cases) >= 2, f"{name}: expected several cases, got {len(cases)}"
        assert all(case.op == name for case in cases), name


class TestOpCases:
    def test_shape_rule_matches_dali(self, run: CaseRun) -> None:
        harness.check_state(run.states[-1], run.dali, "dali")

    def test_shape_rule_matches_torch(self, run: CaseRun) -> None:
        harness.check_state(run.states[-1], run.torch, "torch")

    def test_drawn_sizes_match_outputs(self, run: CaseRun) -> None:
        for out, size, per_op in zip(run.dali, run.sizes, run.args, strict=True):
            assert out.shape[:2] == tuple(size)
            for (op, p), drawn in zip(run.chain, per_op, strict=True):
                assert set(drawn) == set(op.arg_names(p)), op.name

    def test_inputs_not_mutated(self, run: CaseRun) -> None:
        for img, orig in zip(run.images, run.originals, strict=True):
            np.testing.assert_array_equal(img, orig)

    def test_dali_matches_apply_torch(self, run: CaseRun) -> None:
        d = harness.diff(run.dali, run.torch)
        assert d.within(run.case.max_abs, run.case.mean_abs), (
            f"DALI vs apply_torch: {d}, allowed max {run.case.max_abs} mean {run.case.mean_abs}"
        )

    def test_apply_torch_is_torchvision(self, tv_run: CaseRun) -> None:
        run = tv_run
        ref = harness.run_torchvision(run.chain, run.images)
        assert harness.diff(run.torch, ref).max_abs == 0.0

    def test_dali_matches_torchvision(self, tv_run: CaseRun) -> None:
        run = tv_run
        d = harness.diff(run.dali, harness.run_torchvision(run.chain, run.images))
        assert d.within(run.case.max_abs, run.case.mean_abs), f"DALI vs torchvision: {d}"

    def test_fused_decode_matches(self, fused_run: CaseRun) -> None:
        run = fused_run
        fused = harness.run_dali(run.chain, run.images, run.args, fused=True)
        # PNG is lossless: the ROI-decoded path must equal the decoded-then-cropped one.
        assert harness.diff(fused, run.dali).max_abs == 0.0

    def test_fused_jpeg_roi_decode_is_bitwise_full_decode(self, fused_run: CaseRun) -> None:
        """JPEG ROI decoding (libjpeg-turbo skips rows and MCUs) gives the same pixels as a full
        decode followed by the same crop: fusing changes speed only."""
        run = fused_run
        full = harness.run_dali(run.chain, run.images, run.args, encoding="jpeg")
        fused = harness.run_dali(run.chain, run.images, run.args, encoding="jpeg", fused=True)
        assert harness.diff(fused, full).max_abs == 0.0
