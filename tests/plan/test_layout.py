"""The plan's layout: slots in declared order, per-step sharing, per-column draws."""

from __future__ import annotations

from typing import Any

import numpy as np

from dali_pipelines import load_spec
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.draws import draw_sample, sample_rng
from dali_pipelines.plan.layout import transform_boxes

CHAIN = [
    {"op": "random_resized_crop", "size": [16, 16]},
    {"op": "color_jitter", "brightness": 0.4},
    {"op": "horizontal_flip"},
]
TWO = [{"kind": "image", "name": "a"}, {"kind": "image", "name": "b"}]


def plan_of(
    shared: Any = "geometric", outputs: list[dict[str, Any]] = TWO, ops: Any = CHAIN
) -> Any:
    source = {"outputs": outputs, "shared_random": shared}
    return make_plan(load_spec({"ops": ops, "source": source}))


def test_classic_layout() -> None:
    layout = make_plan(load_spec({"ops": CHAIN})).layout
    assert layout.classic and layout.single and layout.names == ("images", "labels")


def test_slots_follow_the_declared_order_and_policy() -> None:
    outputs: list[dict[str, Any]] = [
        {"kind": "features", "columns": ["x"]},
        {"kind": "image", "name": "a", "varying": "list"},
        {"kind": "image", "name": "b"},
        {"kind": "label"},
    ]
    layout = plan_of(outputs=outputs, ops=[{"op": "resize", "size": 20}]).layout
    assert layout.names == ("features", "a", "b", "b_sizes", "labels")
    assert [s.varying for s in layout.slots if s.kind == "image"] == ["list", "pad"]
    fixed = plan_of(outputs=outputs).layout
    assert fixed.names == ("features", "a", "b", "labels")


def test_geometric_ops_share_by_default() -> None:
    assert plan_of().layout.shared == (True, False, True)
    assert plan_of(True).layout.shared == (True, True, True)
    assert plan_of(False).layout.shared == (False, False, False)


def _args(drawn: Any) -> list[dict[str, list[int]]]:
    return [{k: np.asarray(v).tolist() for k, v in step.items()} for step in drawn.args]


def test_shared_columns_draw_equal_parameters_and_others_do_not() -> None:
    sizes = [(60, 80), (60, 80)]
    for index in range(5):
        a, b = draw_sample(plan_of(True), sizes, 3, 1, index)
        assert _args(a) == _args(b)
    a, b = draw_sample(plan_of(), sizes, 3, 1, 0)
    assert _args(a)[0] == _args(b)[0] and _args(a)[2] == _args(b)[2]  # crop and flip shared
    assert _args(a)[1] != _args(b)[1]  # colour per column
    differ = [
        _args(a)[0] != _args(b)[0]
        for a, b in (draw_sample(plan_of(False), sizes, 3, 1, i) for i in range(5))
    ]
    assert any(differ)


def test_one_column_draws_exactly_like_the_classic_path() -> None:
    plan = plan_of(outputs=[{"kind": "image", "name": "a"}, {"kind": "boxes"}])
    (drawn,) = draw_sample(plan, [(60, 80)], 3, 1, 7)
    classic, final = plan.draw((60, 80), sample_rng(3, 1, 7))
    assert _args(drawn) == [{k: np.asarray(v).tolist() for k, v in s.items()} for s in classic]
    assert drawn.final == final == (16, 16) and drawn.sizes[0] == (60, 80)


def test_boxes_follow_the_draws() -> None:
    ops = [{"op": "resize", "size": [30, 40]}, {"op": "horizontal_flip", "p": 1.0}]
    plan = plan_of(outputs=[{"kind": "image", "name": "a"}, {"kind": "boxes"}], ops=ops)
    (drawn,) = draw_sample(plan, [(60, 80)], 0, 0, 0)
    boxes = transform_boxes(plan, np.array([[0, 0, 20, 30]], np.float32), drawn)
    assert boxes.tolist() == [[30.0, 0.0, 40.0, 15.0]]
    empty = transform_boxes(plan, np.zeros((0, 4), np.float32), drawn)
    assert empty.shape == (0, 4)
