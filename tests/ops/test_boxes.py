"""Box rules of the geometric ops against torchvision v2's box-aware functionals, fixed params."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torchvision import tv_tensors
from torchvision.transforms.v2 import functional as F

from dali_pipelines import load_spec
from dali_pipelines.errors import SpecError
from dali_pipelines.ops import get_op
from dali_pipelines.ops._window import window_args

SIZE = (48, 64)  # (height, width) of the input canvas
BOXES = np.array([[10, 5, 40, 30], [0, 0, 64, 48], [30, 20, 31, 21], [50, 40, 63, 47]], np.float32)


def tv(boxes: np.ndarray, size: tuple[int, int]) -> tv_tensors.BoundingBoxes:
    return tv_tensors.BoundingBoxes(torch.from_numpy(boxes), format="XYXY", canvas_size=size)


def ours(spec_op: dict[str, Any], args: dict[str, np.ndarray]) -> np.ndarray:
    params = load_spec({"ops": [spec_op]}).ops[0]
    out = get_op(params.op).transform_boxes(params, BOXES.copy(), args, SIZE)
    assert out is not None
    return out


CASES: list[tuple[str, dict[str, Any], dict[str, np.ndarray], Any]] = [
    ("hflip", {"op": "horizontal_flip"}, {"flip": np.array(1)}, F.horizontal_flip),
    ("hflip-off", {"op": "horizontal_flip"}, {"flip": np.array(0)}, lambda b: b),
    ("vflip", {"op": "vertical_flip"}, {"flip": np.array(1)}, F.vertical_flip),
    (
        "random_crop",
        {"op": "random_crop", "size": [30, 30]},
        window_args(8, 20, 30, 30),
        lambda b: F.crop(b, 8, 20, 30, 30),
    ),
    (
        "random_crop-padded",
        {"op": "random_crop", "size": [40, 40], "padding": 6},
        window_args(-6, 30, 40, 40),
        lambda b: F.crop(F.pad(b, [6]), 0, 36, 40, 40),
    ),
    (
        "center_crop",
        {"op": "center_crop", "size": [30, 40]},
        window_args(9, 12, 30, 40),
        lambda b: F.center_crop(b, [30, 40]),
    ),
    (
        "random_resized_crop",
        {"op": "random_resized_crop", "size": [15, 60]},
        window_args(8, 20, 30, 30),
        lambda b: F.resized_crop(b, 8, 20, 30, 30, [15, 60]),
    ),
    (
        "resize-pair",
        {"op": "resize", "size": [24, 40]},
        {},
        lambda b: F.resize(b, [24, 40]),
    ),
    (
        "resize-shorter",
        {"op": "resize", "size": 20},
        {"size": np.array([20, 26], np.float32)},
        lambda b: F.resize(b, [20]),
    ),
    ("pad", {"op": "pad", "padding": [3, 4, 5, 6]}, window_args(-4, -3, 58, 72), None),
]


@pytest.mark.parametrize(("name", "spec_op", "args", "reference"), CASES, ids=[c[0] for c in CASES])
def test_box_rule_matches_torchvision(
    name: str, spec_op: dict[str, Any], args: dict[str, np.ndarray], reference: Any
) -> None:
    if reference is None:
        reference = lambda b: F.pad(b, [3, 4, 5, 6])  # noqa: E731
    expected = reference(tv(BOXES, SIZE)).as_subclass(torch.Tensor).numpy()
    np.testing.assert_allclose(ours(spec_op, args), expected, atol=1e-4)


def test_pixelwise_ops_keep_boxes_and_rotate_has_no_rule() -> None:
    normalize = load_spec({"ops": [{"op": "normalize", "mean": [0.5], "std": [0.5]}]}).ops[0]
    assert get_op("normalize").transform_boxes(normalize, BOXES, {}, SIZE) is BOXES
    rotate = load_spec({"ops": [{"op": "rotate", "degrees": 10}]}).ops[0]
    assert get_op("rotate").transform_boxes(rotate, BOXES, {}, SIZE) is None


def test_a_chain_with_boxes_refuses_an_op_without_a_rule() -> None:
    from dali_pipelines.plan import make_plan

    spec = {
        "ops": [{"op": "rotate", "degrees": 10}, {"op": "resize", "size": [16, 16]}],
        "source": {"outputs": [{"kind": "image", "name": "image"}, {"kind": "boxes"}]},
    }
    with pytest.raises(SpecError, match=r"ops\[0\] \(rotate\): expected an op that keeps boxes"):
        make_plan(load_spec(spec))
