"""infer_contract: the contract of a spec's output, without running anything."""

from __future__ import annotations

from typing import Any

import pytest

from dali_pipelines import load_spec
from dali_pipelines.contracts import BatchContract, Dim, infer_contract
from dali_pipelines.errors import SpecError
from dali_pipelines.ops import registered_ops
from dali_pipelines.spec import registered_strategies

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
NORMALIZE = {"op": "normalize", "mean": MEAN, "std": STD}


def spec(*ops: dict[str, Any], **top: Any) -> dict[str, Any]:
    return {"ops": list(ops), **top}


def dims(contract: BatchContract, name: str = "images") -> list[str]:
    return [str(d) for d in contract.tensor(name).dims]


def needs(*ops: str) -> None:
    missing = [op for op in ops if op not in registered_ops()]
    if missing:  # pragma: no cover - the ops land with the ops package
        pytest.skip(f"op(s) not registered yet: {missing}")


def test_resize_normalize_contract():
    contract = infer_contract(spec({"op": "resize", "size": [224, 200]}, NORMALIZE))
    images, labels = contract.tensors
    assert dims(contract) == ["N", "C=3", "H=224", "W=200"]
    assert (images.layout, images.dtype, images.device) == ("NCHW", "float32", "cpu")
    assert images.memory_format == "contiguous"
    lo = min((0 - m) / s for m, s in zip(MEAN, STD, strict=True))
    hi = max((1 - m) / s for m, s in zip(MEAN, STD, strict=True))
    assert images.value_range == pytest.approx((lo, hi))
    assert (labels.dims, labels.dtype, labels.layout) == ((Dim.symbol("N"),), "int64", "N")
    assert labels.value_range is None


def test_sizes_that_vary_are_symbols():
    # A shorter-side resize keeps the aspect: the output size varies per image.
    contract = infer_contract(spec({"op": "resize", "size": 256}))
    assert dims(contract) == ["N", "C=3", "H", "W"]
    assert dims(infer_contract(spec())) == ["N", "C=3", "H", "W"]


def test_hwc_layout_and_channels_last():
    hwc = infer_contract(spec({"op": "resize", "size": [8, 9]}, output={"layout": "HWC"}))
    assert dims(hwc) == ["N", "H=8", "W=9", "C=3"]
    assert hwc.tensor("images").layout == "NHWC"
    cl = infer_contract(
        spec({"op": "resize", "size": [8, 9]}, output={"memory_format": "channels_last"})
    )
    assert cl.tensor("images").memory_format == "channels_last"
    with pytest.raises(SpecError) as info:
        infer_contract(spec(output={"layout": "HWC", "memory_format": "channels_last"}))
    assert str(info.value) == (
        "output.memory_format: expected contiguous with layout HWC, got channels_last"
    )


@pytest.mark.parametrize(
    ("output", "dtype", "value_range"),
    [
        ({"dtype": "uint8"}, "uint8", (0.0, 255.0)),
        ({"dtype": "float32"}, "float32", (0.0, 1.0)),  # torchvision's [0, 1] convention
        ({"dtype": "float16"}, "float16", (0.0, 1.0)),
    ],
)
def test_output_dtype_without_normalize(output: dict[str, str], dtype: str, value_range: tuple):
    images = infer_contract(spec(output=output)).tensor("images")
    assert (images.dtype, images.value_range) == (dtype, value_range)


def test_grayscale_decode_has_one_channel():
    contract = infer_contract(spec(decode={"color": "grayscale"}))
    assert dims(contract)[1] == "C=1"


def test_device_and_labels():
    contract = infer_contract(spec(), device="gpu", num_classes=10)
    assert {t.device for t in contract.tensors} == {"cuda"}
    assert contract.tensor("labels").value_range == (0.0, 9.0)
    split = infer_contract(spec(), device="cuda", labels_device="cpu")
    assert [t.device for t in split.tensors] == ["cuda", "cpu"]
    with pytest.raises(SpecError, match="device: expected cpu, gpu or cuda, got 'tpu'"):
        infer_contract(spec(), device="tpu")  # type: ignore[arg-type]
    with pytest.raises(SpecError, match="num_classes: expected >= 1, got 0"):
        infer_contract(spec(), num_classes=0)


def test_takes_every_spec_form(tmp_path):
    from dali_pipelines.spec import dump_spec, load_spec

    as_dict = spec({"op": "resize", "size": [4, 4]})
    path = tmp_path / "s.yaml"
    dump_spec(load_spec(as_dict), path)
    assert infer_contract(as_dict) == infer_contract(path) == infer_contract(load_spec(as_dict))


@pytest.mark.parametrize("name", registered_strategies())
def test_every_strategy_infers(name: str):
    contract = infer_contract(name)
    assert contract.name == name
    audio = load_spec(name).modality == "audio"
    assert contract.names == (("audio", "lengths", "labels") if audio else ("images", "labels"))


# -- impossible chains are rejected before DALI is built, naming the op ----------------------
def test_three_channel_normalize_after_grayscale_decode():
    with pytest.raises(SpecError) as info:
        infer_contract(
            spec({"op": "resize", "size": [8, 8]}, NORMALIZE, decode={"color": "grayscale"})
        )
    assert str(info.value).startswith("ops[1] (normalize).mean: expected ")


def test_three_channel_normalize_after_grayscale_op():
    needs("grayscale")
    with pytest.raises(SpecError) as info:
        infer_contract(spec({"op": "grayscale", "num_output_channels": 1}, NORMALIZE))
    assert str(info.value).startswith("ops[1] (normalize).mean: expected ")


def test_crop_larger_than_a_fixed_resize():
    needs("center_crop")
    with pytest.raises(SpecError) as info:
        infer_contract(
            spec({"op": "resize", "size": [200, 200]}, {"op": "center_crop", "size": 224})
        )
    assert str(info.value) == (
        "ops[1] (center_crop).size: expected <= (200, 200) (input size), got (224, 224)"
    )


def test_uint8_after_normalize():
    with pytest.raises(SpecError) as info:
        infer_contract(spec(NORMALIZE, output={"dtype": "uint8"}))
    assert str(info.value).startswith("output.dtype: expected a float dtype after normalize")
    needs("to_dtype")
    with pytest.raises(SpecError) as info:
        infer_contract(spec(NORMALIZE, {"op": "to_dtype", "dtype": "uint8"}))
    assert str(info.value).startswith("ops[1] (to_dtype).dtype: expected ")


def test_normalize_twice():
    with pytest.raises(SpecError) as info:
        infer_contract(spec(NORMALIZE, NORMALIZE))
    assert str(info.value).startswith("ops[1] (normalize).input: expected ")
