"""The contract models: dim kinds, validation messages, round trips, JSON schema."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from dali_pipelines.contracts import (
    BatchContract,
    Dim,
    TensorShape,
    TensorSpec,
    contract_json_schema,
)
from dali_pipelines.contracts.model import DIM_PATTERN


@pytest.mark.parametrize(
    ("text", "name", "size", "kind"),
    [
        ("N", "N", None, "symbol"),
        ("batch_size", "batch_size", None, "symbol"),
        (3, None, 3, "fixed"),
        ("3", None, 3, "fixed"),
        ("C=3", "C", 3, "fixed"),
        ("*", None, None, "any"),
        (" H ", "H", None, "symbol"),
    ],
)
def test_dim_compact_forms(text: str | int, name: str | None, size: int | None, kind: str):
    dim = Dim.model_validate(text)
    assert (dim.name, dim.size, dim.kind) == (name, size, kind)
    # Serialized back to the compact form, and that form parses to the same dim.
    assert Dim.model_validate(dim.model_dump()) == dim


def test_dim_serializes_compactly():
    dims = [Dim.symbol("N"), Dim.fixed(3), Dim.fixed(3, "C"), Dim.any()]
    assert [d.model_dump() for d in dims] == ["N", 3, "C=3", "*"]
    assert [str(d) for d in dims] == ["N", "3", "C=3", "*"]
    assert Dim.model_validate({"name": "C", "size": 3}) == Dim.fixed(3, "C")  # object form too


@pytest.mark.parametrize("bad", ["3C", "C=", "C=-1", "", "N H", True, 2.5])
def test_dim_rejects_bad_forms(bad: object):
    with pytest.raises(ValidationError):
        Dim.model_validate(bad)


def test_dim_message():
    with pytest.raises(ValidationError) as info:
        Dim.model_validate("3C")
    assert info.value.errors()[0]["msg"] == (
        "Value error, expected a dim like N, 3, C=3 or *, got '3C'"
    )


def test_tensor_shapes():
    assert TensorShape.IMAGE_NCHW.layout == "NCHW"
    assert TensorShape.IMAGE_NHWC.layout == "NHWC"
    assert TensorShape.LABELS_N.layout == "N"
    assert TensorShape.FEATURES_N_D.layout == "ND"
    assert TensorShape.BOXES_N_K_4.layout is None
    assert [str(d) for d in TensorShape.IMAGE_NCHW.dims(C=3, H=224)] == ["N", "C=3", "H=224", "W"]
    assert [str(d) for d in TensorShape.BOXES_N_K_4.dims()] == ["N", "K", "4"]
    with pytest.raises(ValueError, match=r"IMAGE_NCHW: expected sizes for .*, got \['X'\]"):
        TensorShape.IMAGE_NCHW.dims(X=1)


def test_from_shape():
    spec = TensorSpec.from_shape(TensorShape.IMAGE_NHWC, "images", "uint8", C=3, device="cuda")
    assert spec.shape_str == "(N, H, W, C=3)"
    assert (spec.layout, spec.device, spec.ndim, spec.sample_ndim) == ("NHWC", "cuda", 4, 3)


def _error(**fields: object) -> str:
    base: dict[str, object] = {"name": "x", "dims": ["N", 3], "dtype": "float32"}
    with pytest.raises(ValidationError) as info:
        TensorSpec.model_validate({**base, **fields})
    return str(info.value.errors()[0]["msg"])


def test_tensor_spec_validation_messages():
    assert (
        _error(layout="NCH") == "Value error, layout: expected 2 letters (one per dim), got 'NCH'"
    )
    assert _error(layout="NN") == "Value error, layout: expected distinct letters, got 'NN'"
    assert _error(memory_format="channels_last") == (
        "Value error, memory_format: expected 4 dims for channels_last, got 2"
    )
    assert _error(value_range=[1, 0]) == (
        "Value error, value_range: expected finite lo <= hi, got (1.0, 0.0)"
    )
    assert _error(value_range=[0, "inf"]) == (
        "Value error, value_range: expected finite lo <= hi, got (0.0, inf)"
    )
    assert _error(extra=1) == "Extra inputs are not permitted"
    assert _error(dtype="float8").startswith("Input should be ")
    assert _error(name="1x").startswith("String should match pattern")


def test_contract_validation_messages():
    images = TensorSpec(name="images", dims=["N", "H=224"], dtype="float32")
    with pytest.raises(ValidationError) as info:
        BatchContract(tensors=(images, images))
    assert "tensors: expected distinct names, got 'images' twice" in str(info.value)
    other = TensorSpec(name="masks", dims=["N", "H=256"], dtype="bool")
    with pytest.raises(ValidationError) as info:
        BatchContract(tensors=(images, other))
    assert "masks.dims[1]: expected H=224 (as in images.dims[1]), got H=256" in str(info.value)
    with pytest.raises(ValidationError):
        BatchContract(tensors=())


def test_contract_is_frozen_and_hashable(small: BatchContract):
    with pytest.raises(ValidationError):
        small.name = "other"  # type: ignore[misc]
    assert hash(small) == hash(BatchContract.model_validate(small.model_dump()))
    assert BatchContract.model_validate_json(small.model_dump_json()) == small


def test_contract_helpers(small: BatchContract):
    assert small.names == ("images", "labels")
    assert small.symbols == {"N": None, "C": 3, "H": 4, "W": 5}
    assert small.tensor("labels").dtype == "int64"
    with pytest.raises(KeyError, match="expected a tensor among images, labels, got 'boxes'"):
        small.tensor("boxes")
    on_gpu = small.with_device("cuda")
    assert {t.device for t in on_gpu.tensors} == {"cuda"}
    assert on_gpu.with_device("cpu") == small


def test_json_schema_exports_and_describes_files(small: BatchContract):
    schema = contract_json_schema()
    json.dumps(schema)  # serializable as is
    assert schema["additionalProperties"] is False
    dim = schema["$defs"]["Dim"]
    assert dim["anyOf"][0] == {"type": "string", "pattern": DIM_PATTERN}
    tensor = schema["$defs"]["TensorSpec"]
    assert tensor["additionalProperties"] is False
    assert set(tensor["required"]) == {"name", "dims", "dtype"}
    # No named groups: the pattern must be a plain ECMA-262 regex for editors.
    assert "?P<" not in DIM_PATTERN
