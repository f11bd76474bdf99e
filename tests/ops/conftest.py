from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pytest

from dali_pipelines.ops import ImageState

from . import harness
from .cases import OP_CASES, Case

ALL_CASES = [case for cases in OP_CASES.values() for case in cases]


def case_id(case: Case) -> str:
    return f"{case.op}-{case.id}"


@dataclass(frozen=True)
class CaseRun:
    case: Case
    chain: list
    images: list[np.ndarray]
    originals: list[np.ndarray]
    args: list
    sizes: list[tuple[int, int]]
    states: list[ImageState]
    dali: list[np.ndarray]
    torch: list[np.ndarray]


_RUNS: dict[str, CaseRun] = {}


def _run(case: Case) -> CaseRun:
    # One DALI pipeline per case, shared by all the checks on it.
    key = case_id(case)
    if key not in _RUNS:
        _RUNS[key] = _execute(case)
    return _RUNS[key]


def _execute(case: Case) -> CaseRun:
    chain = harness.resolve(case.chain)
    images = harness.make_images(case.sizes, case.channels, seed=case.seed)
    originals = [img.copy() for img in images]
    args, sizes = harness.draw_all(chain, images, seed=case.seed)
    states = harness.infer_states(chain, harness.input_state(images))
    dali = harness.run_dali(chain, images, args)
    torch_out = harness.run_torch(chain, images, args)
    return CaseRun(case, chain, images, originals, args, sizes, states, dali, torch_out)


@pytest.fixture(params=ALL_CASES, ids=case_id)
def run(request: pytest.FixtureRequest) -> CaseRun:
    return _run(request.param)


@pytest.fixture(params=[c for c in ALL_CASES if c.vs_torchvision], ids=case_id)
def tv_run(request: pytest.FixtureRequest) -> CaseRun:
    """Cases whose params pin the randomness: comparable with the real torchvision transform."""
    return _run(request.param)


@pytest.fixture(params=[c for c in ALL_CASES if c.fused], ids=case_id)
def fused_run(request: pytest.FixtureRequest) -> CaseRun:
    """Cases that also run the first op's fused decode."""
    return _run(request.param)
