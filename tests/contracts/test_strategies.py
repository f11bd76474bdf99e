"""Property tests: batches(c) always pass check_batch(c); violating_batches(c) always fail it."""

from __future__ import annotations

import importlib
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dali_pipelines.contracts import (
    BatchContract,
    ContractViolation,
    Dim,
    TensorShape,
    TensorSpec,
    check_batch,
    load_contract,
    violations,
)
from dali_pipelines.contracts.strategies import batches, violating_batches

from .conftest import image_contract

FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

CONTRACTS = {
    "small": image_contract(),
    "channels_last": image_contract(memory_format="channels_last", value_range=(-2.5, 2.5)),
    "symbols": image_contract(H=None, W=None, value_range=None, dtype="float16"),
    "uint8_nhwc": BatchContract(
        tensors=(
            TensorSpec.from_shape(
                TensorShape.IMAGE_NHWC, "images", "uint8", C=1, value_range=(0, 255)
            ),
            TensorSpec.from_shape(TensorShape.LABELS_N, "labels", "int32", value_range=(0, 9)),
        )
    ),
    "mixed": BatchContract(
        tensors=(
            TensorSpec.from_shape(TensorShape.FEATURES_N_D, "features", "float64", D=3),
            TensorSpec.from_shape(TensorShape.BOXES_N_K_4, "boxes", "float32", nullable=True),
            TensorSpec(name="mask", dims=(Dim.symbol("N"), Dim.any()), dtype="bool"),
            TensorSpec(
                name="square", dims=("S", "S"), dtype="bfloat16", memory_format="contiguous"
            ),
        )
    ),
}
SHIPPED = {name: load_contract(name).with_device("cpu") for name in ("imagenet_val",)}

contracts = st.sampled_from(sorted(CONTRACTS)).map(CONTRACTS.__getitem__)


@FAST
@given(st.data(), contracts, st.booleans())
def test_generated_batches_conform(data: st.DataObject, contract: BatchContract, as_dict: bool):
    batch = data.draw(batches(contract, as_dict=as_dict))
    check_batch(batch, contract, values="full")


@FAST
@given(st.data(), contracts, st.booleans())
def test_near_misses_violate(data: st.DataObject, contract: BatchContract, as_dict: bool):
    batch = data.draw(violating_batches(contract, as_dict=as_dict))
    with pytest.raises(ContractViolation):
        check_batch(batch, contract, values="full")


@FAST
@given(st.data(), contracts)
def test_structural_near_misses_violate_without_values(
    data: st.DataObject, contract: BatchContract
):
    batch = data.draw(violating_batches(contract, values=False))
    assert violations(batch, contract, values="off")


@settings(max_examples=10, deadline=None)
@given(st.data())
def test_numpy_batches(data: st.DataObject):
    contract = CONTRACTS["channels_last"]
    check_batch(data.draw(batches(contract, library="numpy")), contract, values="full")
    bad = data.draw(violating_batches(contract, library="numpy"))
    assert violations(bad, contract, values="full")


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_shipped_contract_batches(data: st.DataObject):
    contract = SHIPPED["imagenet_val"]
    batch = data.draw(batches(contract, max_n=2))
    assert tuple(batch[0].shape[1:]) == (3, 224, 224)
    check_batch(batch, contract, values="full")


def test_cuda_contract_without_cuda_names_the_way_out():
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    contract = CONTRACTS["small"].with_device("cuda")
    with pytest.raises(Exception, match=r"images.device: .*with_device\('cpu'\)"):
        batches(contract).example()


def test_import_error_names_the_testing_extra(monkeypatch: pytest.MonkeyPatch):
    # None in sys.modules makes `import hypothesis` fail as if it were not installed.
    for name in [n for n in sys.modules if n == "hypothesis" or n.startswith("hypothesis.")]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.delitem(sys.modules, "dali_pipelines.contracts.strategies")
    with pytest.raises(ImportError) as info:
        importlib.import_module("dali_pipelines.contracts.strategies")
    assert "pip install 'dali-pipelines[testing]'" in str(info.value)
    assert "'testing' extra" in str(info.value)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_list_outputs_conform_and_violate(data: st.DataObject) -> None:
    from dali_pipelines.contracts import infer_contract, violations

    spec = {
        "ops": [{"op": "resize", "size": [8, 8]}],
        "source": {
            "outputs": [{"kind": "image", "name": "image"}, {"kind": "boxes"}],
            "varying": "list",
        },
    }
    contract = infer_contract(spec)
    assert violations(data.draw(batches(contract, max_n=3, max_side=5)), contract) == []
    assert violations(data.draw(violating_batches(contract, max_n=3, max_side=5)), contract)
