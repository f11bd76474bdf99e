"""Params validation (pydantic errors name the field) and impossible chains (ChainError)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from dali_pipelines.errors import SpecError
from dali_pipelines.ops import ChainError, DaliContext, ImageState, get_op, registered_ops

from .cases import OP_CASES

# (op, bad params, the field the message must name)
BAD_PARAMS: list[tuple[str, dict[str, Any], str]] = [
    ("python", {"name": "never_registered_anywhere"}, "name"),
    ("resize", {"size": -3}, "size"),
    ("normalize", {"mean": (0.5, 0.5), "std": (0.1,)}, "std"),
    ("random_resized_crop", {"size": -1}, "size"),
    ("random_resized_crop", {"size": 0}, "size"),
    ("random_resized_crop", {"size": 8, "scale": (0.9, 0.1)}, "scale"),
    ("random_resized_crop", {"size": 8, "scale": (-0.1, 0.5)}, "scale"),
    ("random_resized_crop", {"size": 8, "ratio": (2.0, 0.5)}, "ratio"),
    ("random_resized_crop", {"size": 8, "ratio": (0.0, 1.0)}, "ratio"),
    ("random_resized_crop", {"size": 8, "interpolation": "lanczos"}, "interpolation"),
    ("random_resized_crop", {"size": (8, 8, 8)}, "size"),
    ("horizontal_flip", {"p": 1.5}, "p"),
    ("horizontal_flip", {"p": -0.1}, "p"),
    ("vertical_flip", {"p": 2}, "p"),
    ("center_crop", {"size": (0, 4)}, "size"),
    ("center_crop", {"size": -4}, "size"),
    ("color_jitter", {"brightness": -0.1}, "brightness"),
    ("color_jitter", {"contrast": (1.5, 0.5)}, "contrast"),
    ("color_jitter", {"saturation": (-1.0, 1.0)}, "saturation"),
    ("color_jitter", {"hue": 0.6}, "hue"),
    ("color_jitter", {"hue": (-0.6, 0.1)}, "hue"),
    ("to_dtype", {"dtype": "int32"}, "dtype"),
    ("to_dtype", {"dtype": "float32", "scale": "maybe"}, "scale"),
    ("grayscale", {"num_output_channels": 2}, "num_output_channels"),
    ("gaussian_blur", {"kernel_size": 4}, "kernel_size"),
    ("gaussian_blur", {"kernel_size": (3, 6)}, "kernel_size"),
    ("gaussian_blur", {"kernel_size": 3, "sigma": (2.0, 1.0)}, "sigma"),
    ("gaussian_blur", {"kernel_size": 3, "sigma": -1.0}, "sigma"),
    ("gaussian_blur", {"kernel_size": -3}, "kernel_size"),
    ("pad", {"padding": -1}, "padding"),
    ("pad", {"padding": (1, 2, 3)}, "padding"),
    ("pad", {"padding": 2, "padding_mode": "wrap"}, "padding_mode"),
    ("random_crop", {"size": -8}, "size"),
    ("random_crop", {"size": 8, "padding": (1, -1)}, "padding"),
    ("random_crop", {"size": 8, "padding_mode": "circular"}, "padding_mode"),
    ("rotate", {"degrees": -10}, "degrees"),
    ("rotate", {"degrees": (60, 30)}, "degrees"),
    ("rotate", {"degrees": 10, "interpolation": "bicubic"}, "interpolation"),
    ("rotate", {"degrees": 10, "fill": (1, 2, 3)}, "fill"),
]

NORMALIZED = ImageState(dtype="float32", value_range=(-2.1, 2.6), normalized=True)

# (op, params, input state) that the shape rule must reject, and the field it names.
BAD_CHAINS: list[tuple[str, dict[str, Any], ImageState, str]] = [
    ("center_crop", {"size": 64}, ImageState(height=48, width=80), "size"),
    ("center_crop", {"size": (10, 90)}, ImageState(height=48, width=80), "size"),
    ("normalize", {"mean": (0.5, 0.5, 0.5), "std": (1, 1, 1)}, ImageState(channels=1), "mean"),
    ("color_jitter", {"brightness": 0.2}, ImageState(channels=4), "input"),
    ("color_jitter", {"brightness": 0.2}, NORMALIZED, "input"),
    ("color_jitter", {"hue": 0.2}, ImageState(dtype="float32"), "input"),  # 0-255 floats
    ("to_dtype", {"dtype": "uint8", "scale": True}, NORMALIZED, "dtype"),
    ("to_dtype", {"dtype": "uint8"}, NORMALIZED, "dtype"),
    ("to_dtype", {"dtype": "uint8", "scale": True}, ImageState(dtype="float32"), "dtype"),
    ("grayscale", {}, ImageState(channels=4), "input"),
    ("gaussian_blur", {"kernel_size": 41}, ImageState(height=16, width=64), "kernel_size"),
    ("pad", {"padding": 2, "fill": (1, 2)}, ImageState(), "fill"),
    ("pad", {"padding": 20, "padding_mode": "reflect"}, ImageState(height=20, width=40), "padding"),
    ("random_crop", {"size": 64}, ImageState(height=48, width=80), "size"),
    ("random_crop", {"size": 52, "padding": 1}, ImageState(height=48, width=80), "size"),
    ("random_crop", {"size": 8, "fill": (1, 2)}, ImageState(), "fill"),
    ("random_crop", {"size": 8, "padding": 1, "fill": 256}, ImageState(), "fill"),
    ("pad", {"padding": 1, "fill": (0, -1, 0)}, ImageState(), "fill"),
    ("rotate", {"degrees": 10, "fill": 300}, ImageState(), "fill"),
]


@pytest.mark.parametrize(("name", "params", "field"), BAD_PARAMS, ids=lambda v: str(v)[:30])
def test_bad_params_name_the_field(name: str, params: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as info:
        get_op(name).Params.model_validate({"op": name, **params})
    assert field in str(info.value)


@pytest.mark.parametrize(
    ("name", "params", "state", "field"), BAD_CHAINS, ids=lambda v: str(v)[:30]
)
def test_impossible_chain_raises(
    name: str, params: dict[str, Any], state: ImageState, field: str
) -> None:
    op = get_op(name)
    p = op.Params.model_validate({"op": name, **params})
    with pytest.raises(ChainError) as info:
        op.infer(p, state)
    assert info.value.field == field
    assert str(info.value).startswith(f"{field}: expected ")


def test_every_op_has_bad_params_cases() -> None:
    covered = {name for name, _, _ in BAD_PARAMS}
    # Audio ops' bad params are tested with their table (tests/ops/audio).
    image = {name for name, op in registered_ops().items() if op.modality != "audio"}
    missing = sorted(image - covered)
    assert not missing, f"ops without a BAD_PARAMS entry: {missing}"


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_case_params_roundtrip_json(name: str) -> None:
    """Specs are files: every case's params survive a JSON round trip unchanged."""
    op = get_op(name)
    for case in OP_CASES[name]:
        p = op.Params.model_validate(case.chain[-1])
        assert op.Params.model_validate_json(p.model_dump_json()) == p


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_op_metadata(name: str) -> None:
    op = get_op(name)
    assert op.dali_operator and op.torchvision_name and op.tolerance
    assert op.name == name


def test_color_jitter_ranges_follow_torchvision() -> None:
    from torchvision.transforms import v2

    op = get_op("color_jitter")
    p = op.Params.model_validate(
        {"op": "color_jitter", "brightness": 1.5, "contrast": (0.5, 2.0), "hue": 0.1}
    )
    t = v2.ColorJitter(brightness=1.5, contrast=(0.5, 2.0), hue=0.1)
    ours = p.ranges()
    assert ours == {
        "brightness": tuple(t.brightness),
        "contrast": tuple(t.contrast),
        "hue": tuple(t.hue),
    }
    # A no-op range is dropped, as torchvision does.
    q = op.Params.model_validate({"op": "color_jitter", "brightness": (1.0, 1.0), "hue": 0.0})
    assert q.ranges() == {} and op.arg_names(q) == ()


def test_to_dtype_states() -> None:
    op = get_op("to_dtype")
    to_f = op.Params.model_validate({"op": "to_dtype", "dtype": "float32", "scale": True})
    s = op.infer(to_f, ImageState())
    assert (s.dtype, s.value_range) == ("float32", (0.0, 1.0))
    raw = op.Params.model_validate({"op": "to_dtype", "dtype": "float16"})
    assert op.infer(raw, ImageState()).value_range == (0.0, 255.0)
    back = op.Params.model_validate({"op": "to_dtype", "dtype": "uint8", "scale": True})
    assert op.infer(back, s) == ImageState()


@pytest.mark.parametrize("name", ["pad", "random_crop"])
@pytest.mark.parametrize("mode", ["edge", "reflect", "symmetric"])
def test_non_constant_padding_is_valid_but_not_on_dali(name: str, mode: str) -> None:
    op = get_op(name)
    p = op.Params.model_validate(
        {"op": name, "size": 8, "padding": 3, "padding_mode": mode}
        if name == "random_crop"
        else {"op": name, "padding": 3, "padding_mode": mode}
    )
    expected = (
        f"{name}.padding_mode: expected 'constant' on the DALI backend, got {mode!r} "
        "(the hybrid executor runs it in torch, after the DALI segment)"
    )
    assert op.dali_supported(p, "cpu") == expected
    with pytest.raises(SpecError) as info:
        op.build_dali(p, None, {}, DaliContext())
    assert str(info.value) == expected


@pytest.mark.parametrize("mode", ["constant", "edge", "reflect", "symmetric"])
def test_pad_apply_torch_supports_every_mode(mode: str) -> None:
    import numpy as np
    import torch
    from torchvision.transforms import v2

    op = get_op("pad")
    p = op.Params.model_validate({"op": "pad", "padding": (1, 2, 3, 4), "padding_mode": mode})
    img = torch.arange(3 * 6 * 7, dtype=torch.uint8).reshape(3, 6, 7)
    args, size = op.draw(p, (6, 7), np.random.default_rng(0))
    out = op.apply_torch(p, img, args)
    assert tuple(out.shape[-2:]) == size == (12, 11)
    assert torch.equal(out, v2.Pad([1, 2, 3, 4], padding_mode=mode)(img))


def test_random_crop_apply_torch_reflect_matches_torchvision_window() -> None:
    import numpy as np
    import torch
    from torchvision.transforms.v2 import functional as F

    op = get_op("random_crop")
    p = op.Params.model_validate(
        {"op": "random_crop", "size": 10, "padding": 3, "padding_mode": "reflect"}
    )
    img = torch.arange(3 * 9 * 12, dtype=torch.uint8).reshape(3, 9, 12)
    args, _ = op.draw(p, (9, 12), np.random.default_rng(3))
    top, left = (int(v) for v in args["start"])
    padded = F.pad(img, [3, 3, 3, 3], padding_mode="reflect")
    expected = padded[:, top + 3 : top + 13, left + 3 : left + 13]
    assert torch.equal(op.apply_torch(p, img, args), expected)


def test_fill_joins_the_value_range() -> None:
    """A normalized float image padded (or rotated in) with 0 keeps 0 in its value range."""
    state = ImageState(dtype="float32", value_range=(0.2, 0.9))
    for name, params in [
        ("pad", {"padding": 2, "fill": 0.0}),
        ("random_crop", {"size": 4, "padding": 1, "fill": 0.0}),
        ("rotate", {"degrees": 5, "fill": 0.0}),
    ]:
        op = get_op(name)
        out = op.infer(op.Params.model_validate({"op": name, **params}), state)
        assert out.value_range == (0.0, 0.9), name
