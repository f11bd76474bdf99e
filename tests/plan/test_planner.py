from __future__ import annotations

import numpy as np
import pytest

from dali_pipelines import load_spec
from dali_pipelines.errors import SpecError
from dali_pipelines.plan import make_plan


def test_states_follow_the_chain() -> None:
    plan = make_plan(
        load_spec(
            {
                "ops": [
                    {"op": "resize", "size": [40, 60]},
                    {"op": "normalize", "mean": [0.5], "std": [0.5]},
                ]
            }
        )
    )
    assert plan.decoded.fixed_size is None
    assert plan.steps[0].state_out.fixed_size == (40, 60)
    assert plan.output.dtype == "float32"
    assert plan.output.value_range == (-1.0, 1.0)


def test_float_output_without_normalize_is_unit_range() -> None:
    plan = make_plan(load_spec({"ops": [{"op": "resize", "size": [8, 8]}]}))
    assert plan.output.value_range == (0.0, 1.0)
    assert plan.final.dtype == "uint8"


def test_impossible_chain_names_op_index() -> None:
    spec = load_spec(
        {
            "ops": [
                {"op": "resize", "size": [20, 20]},
                {"op": "normalize", "mean": [0.5, 0.4], "std": [0.2, 0.2]},
            ]
        }
    )
    with pytest.raises(SpecError, match=r"ops\[1\] \(normalize\)\.mean: expected 1 or 3 values"):
        make_plan(spec)


def test_uint8_output_after_normalize_is_rejected() -> None:
    spec = load_spec(
        {
            "ops": [{"op": "normalize", "mean": [0.5], "std": [0.5]}],
            "output": {"dtype": "uint8"},
        }
    )
    with pytest.raises(SpecError, match=r"output\.dtype: expected a float dtype after normalize"):
        make_plan(spec)


def test_draw_is_a_pure_function_of_the_generator() -> None:
    plan = make_plan(load_spec("imagenet_train"))
    a, size_a = plan.draw((300, 400), np.random.default_rng((1, 2, 3)))
    b, size_b = plan.draw((300, 400), np.random.default_rng((1, 2, 3)))
    assert size_a == size_b == (224, 224)
    for x, y in zip(a, b):
        assert x.keys() == y.keys()
        for key in x:
            np.testing.assert_array_equal(x[key], y[key])
