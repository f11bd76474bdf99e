from __future__ import annotations

import pytest

from . import harness
from .cases import AUDIO_CASES
from .harness import AudioCase, AudioRun

ALL_CASES = [case for cases in AUDIO_CASES.values() for case in cases]


def case_id(case: AudioCase) -> str:
    return f"{case.op}-{case.id}"


_RUNS: dict[str, AudioRun] = {}


@pytest.fixture(params=ALL_CASES, ids=case_id)
def audio_run(request: pytest.FixtureRequest) -> AudioRun:
    # One DALI pipeline per case, shared by all the checks on it.
    case: AudioCase = request.param
    key = case_id(case)
    if key not in _RUNS:
        _RUNS[key] = harness.execute(case)
    return _RUNS[key]
