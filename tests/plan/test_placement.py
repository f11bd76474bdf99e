"""Where each step runs: inline python_function, worker processes, or batched torch."""

from __future__ import annotations

from typing import Any

import pytest

from dali_pipelines import load_spec, register_python_op
from dali_pipelines.errors import SpecError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.placement import place
from tests import python_ops  # noqa: F401  (registers test_swap and the other test ops)

NORM: dict[str, Any] = {"op": "normalize", "mean": [0.5], "std": [0.5]}


def _where(ops: list[dict[str, Any]], device: str = "cpu", python: str = "auto") -> list[str]:
    placement = place(make_plan(load_spec({"ops": ops})), device, python)  # type: ignore[arg-type]
    return [step.where for step in placement.steps]


def test_no_python_stage_is_all_dali() -> None:
    plan = make_plan(load_spec("imagenet_train"))
    assert place(plan).mode == "dali"
    assert {step.where for step in place(plan, "gpu").steps} == {"dali-gpu"}


def test_numpy_ops_run_inline_on_cpu() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "random_resized_crop", "size": 32},
        {"op": "python", "name": "test_swap"},
        NORM,
    ]
    assert _where(ops) == ["dali-cpu", "python-inline", "dali-cpu"]


def test_workers_split_the_graph_and_batch_the_tail() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "resize", "size": 40},
        {"op": "python", "name": "test_swap"},
        {"op": "random_crop", "size": 32},
        {"op": "horizontal_flip"},
        NORM,
    ]
    assert _where(ops, python="workers") == [
        "dali-cpu",
        "python-workers",
        "torch-workers",  # draws its window from the real size: per sample
        "torch-batch",  # per-sample flags applied with torch.where
        "torch-batch",
    ]


def test_gpu_graphs_cannot_run_python_function() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "center_crop", "size": 32},
        {"op": "python", "name": "test_swap"},
        NORM,
    ]
    assert _where(ops, "gpu") == ["dali-gpu", "python-workers", "torch-batch"]


def test_torchvision_style_and_forced_placements() -> None:
    register_python_op("test_pil_identity", accepts="pil")(lambda image: image)
    register_python_op("test_heavy", placement="workers")(lambda image: image)
    register_python_op("test_costly", cost_ms=5)(lambda image: image)
    register_python_op("test_cheap", cost_ms=0.1)(lambda image: image)
    assert _where([{"op": "python", "name": "test_cheap"}]) == ["python-inline"]
    for name in ("test_pil_identity", "test_heavy", "test_costly"):
        assert _where([{"op": "python", "name": name}]) == ["python-workers"]
    assert _where([{"op": "python", "name": "test_pil_identity"}], python="inline") == [
        "python-inline"
    ]
    with pytest.raises(SpecError, match="python_placement"):
        _where([], python="threads")


def test_a_stage_of_unknown_size_moves_size_dependent_ops_after_it() -> None:
    register_python_op("test_varies", size="varies")(lambda image, rng: image)
    ops: list[dict[str, Any]] = [
        {"op": "python", "name": "test_varies"},
        {"op": "center_crop", "size": 8},
    ]
    assert _where(ops) == ["python-workers", "torch-workers"]
    assert _where([{"op": "python", "name": "test_varies"}, NORM]) == ["python-inline", "dali-cpu"]


def test_ops_without_a_dali_builder_run_in_workers() -> None:
    ops: list[dict[str, Any]] = [
        {"op": "center_crop", "size": 32},
        {"op": "pad", "padding": 2, "padding_mode": "reflect"},
        NORM,
    ]
    assert _where(ops) == ["dali-cpu", "torch-workers", "torch-batch"]
    # Batching needs one size: after a decode of varying size the ops stay per sample.
    assert _where(ops[1:]) == ["torch-workers", "torch-workers"]
