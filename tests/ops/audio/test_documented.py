"""docs/operators.md's measured figures for the audio ops (``AUDIO_MEASURED``) are what the
cases of AUDIO_CASES give: per op and bound variant, the largest difference between the op's
DALI output and its reference on the same input, over every case where the op runs.

``DALI_PIPELINES_AUDIO_BOUNDS_REPORT=<file>`` writes the measured table to that file (the
literal to paste into ``dali_pipelines/ops/docs.py``) before comparing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from dali_pipelines.ops import registered_ops
from dali_pipelines.ops.docs import AUDIO_MEASURED

from . import harness
from .conftest import _RUNS, ALL_CASES, case_id


def _measure() -> dict[str, float]:
    worst: dict[str, float] = {}
    for case in ALL_CASES:
        key = case_id(case)
        if key not in _RUNS:  # shared with test_audio_cases when both run
            _RUNS[key] = harness.execute(case)
        run = _RUNS[key]
        for k, (op, p) in enumerate(run.chain):
            bound = op.bound(p)
            name = f"{op.name} ({bound.when})" if bound.when else op.name
            worst[name] = max(worst.get(name, 0.0), run.step_diff(k))
    return worst


def test_documented_audio_figures_are_measured() -> None:
    measured = {key: float(f"{value:.3g}") for key, value in sorted(_measure().items())}
    report = os.environ.get("DALI_PIPELINES_AUDIO_BOUNDS_REPORT")
    if report:
        lines = [f"    {key!r}: {value!r}," for key, value in measured.items()]
        Path(report).write_text("{\n" + "\n".join(lines) + "\n}\n", encoding="utf-8")
    audio = {name for name, op in registered_ops().items() if op.modality == "audio"}
    assert {key.split(" ")[0] for key in measured} <= audio
    assert measured == pytest.approx(AUDIO_MEASURED, rel=0.02, abs=1e-12), (
        "AUDIO_MEASURED is stale: regenerate it (see dali_pipelines/ops/docs.py)"
    )
