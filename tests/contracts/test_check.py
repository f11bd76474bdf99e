"""check_batch: one test per kind of violation, each asserting the exact message."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dali_pipelines.contracts import (
    BatchContract,
    ContractChecker,
    ContractViolation,
    TensorSpec,
    check_batch,
    violations,
)
from dali_pipelines.contracts.tensors import STRIDED_SAMPLE
from dali_pipelines.errors import DaliPipelinesError

from .conftest import image_contract


def good(n: int = 2) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.rand(n, 3, 4, 5), torch.zeros(n, dtype=torch.int64)


def message(batch: object, contract: BatchContract, values: str = "full") -> str:
    with pytest.raises(ContractViolation) as info:
        check_batch(batch, contract, values=values)  # type: ignore[arg-type]
    return str(info.value)


def test_conforming_batches_pass(small: BatchContract):
    images, labels = good()
    for values in ("off", "first", "strided", "full"):
        check_batch((images, labels), small, values=values)  # type: ignore[arg-type]
    check_batch([images, labels], small)
    check_batch({"labels": labels, "images": images}, small)
    check_batch((images.numpy(), labels.numpy()), small, values="full")
    assert violations((images, labels), small) == []


def test_violation_is_an_assertion_and_a_package_error():
    assert issubclass(ContractViolation, AssertionError)
    assert issubclass(ContractViolation, DaliPipelinesError)


# -- dims --------------------------------------------------------------------------------------
def test_named_fixed_dim(small: BatchContract):
    images, labels = good()
    assert message((images[:, :1], labels), small) == "images.dims[1]: expected C=3, got 1"


def test_unnamed_fixed_dim():
    contract = BatchContract(
        tensors=(TensorSpec(name="boxes", dims=["N", "K", 4], dtype="float32"),)
    )
    assert message(torch.zeros(2, 5, 3), contract) == "boxes.dims[2]: expected 4, got 3"


def test_symbol_binds_across_tensors(small: BatchContract):
    images, labels = good(4)
    assert message((images, labels[:3]), small) == (
        "labels.dims[0]: expected N=4 (bound by images.dims[0]), got 3"
    )


def test_symbol_binds_within_a_tensor():
    contract = BatchContract(tensors=(TensorSpec(name="gram", dims=["D", "D"], dtype="float32"),))
    check_batch(torch.zeros(3, 3), contract)
    assert message(torch.zeros(3, 2), contract) == (
        "gram.dims[1]: expected D=3 (bound by gram.dims[0]), got 2"
    )


def test_symbol_takes_any_size_once(small: BatchContract):
    for n in (1, 7):
        check_batch(good(n), small)
    check_batch((torch.zeros(0, 3, 4, 5), torch.zeros(0, dtype=torch.int64)), small, values="full")


def test_any_dim_is_not_bound():
    contract = BatchContract(
        tensors=(
            TensorSpec(name="a", dims=["N", "*"], dtype="float32"),
            TensorSpec(name="b", dims=["N", "*"], dtype="float32"),
        )
    )
    check_batch((torch.zeros(2, 3), torch.zeros(2, 9)), contract)


def test_named_fixed_dims_bind_too():
    # H=4 in one tensor and H in another: the symbol must take the fixed size.
    contract = BatchContract(
        tensors=(
            TensorSpec(name="images", dims=["N", "H=4"], dtype="float32"),
            TensorSpec(name="masks", dims=["N", "H"], dtype="bool"),
        )
    )
    ok = torch.zeros(2, 4), torch.zeros(2, 4, dtype=torch.bool)
    check_batch(ok, contract)
    assert message((ok[0], torch.zeros(2, 5, dtype=torch.bool)), contract) == (
        "masks.dims[1]: expected H=4 (bound by images.dims[1]), got 5"
    )


def test_ndim(small: BatchContract):
    images, labels = good()
    assert message((images[0], labels), small) == (
        "images.ndim: expected 4 (N, C=3, H=4, W=5), got 3 (3, 4, 5)"
    )


# -- dtype, device, layout ------------------------------------------------------------------
def test_dtype(small: BatchContract):
    images, labels = good()
    assert message((images.half(), labels), small) == "images.dtype: expected float32, got float16"
    assert message((images, labels.int()), small) == "labels.dtype: expected int64, got int32"
    assert message((images.numpy().astype("float64"), labels), small) == (
        "images.dtype: expected float32, got float64"
    )


def test_device(small: BatchContract):
    # A CUDA contract fed CPU tensors: testable without a GPU.
    assert message(good(), small.with_device("cuda")) == "images.device: expected cuda, got cpu"
    assert message(tuple(t.numpy() for t in good()), small.with_device("cuda")) == (
        "images.device: expected cuda, got cpu"
    )
    check_batch(good(), small.with_device("any"))


def test_layout_nhwc_given_to_nchw(small: BatchContract):
    images, labels = good()
    assert message((images.permute(0, 2, 3, 1), labels), small) == (
        "images.dims[1]: expected C=3, got 4"
    )


def test_memory_format():
    channels_last = image_contract(memory_format="channels_last")
    contiguous = image_contract(memory_format="contiguous")
    images, labels = good()
    cl_images = images.contiguous(memory_format=torch.channels_last)
    check_batch((cl_images, labels), channels_last)
    assert message((images, labels), channels_last) == (
        "images.memory_format: expected channels_last, got contiguous"
    )
    assert message((cl_images, labels), contiguous) == (
        "images.memory_format: expected contiguous, got channels_last"
    )
    assert message(
        (images[..., ::2, :], labels[:2]), image_contract(H=2, memory_format="contiguous")
    ) == ("images.memory_format: expected contiguous, got strides (60, 20, 10, 1)")
    np_cl = np.ascontiguousarray(images.numpy().transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    check_batch((np_cl, labels.numpy()), channels_last)
    assert message((np_cl, labels.numpy()), contiguous) == (
        "images.memory_format: expected contiguous, got channels_last"
    )


# -- values ------------------------------------------------------------------------------------
def test_value_range_full(small: BatchContract):
    images, labels = good()
    images[1, 2, 3, 4] = 1.5
    images[0, 0, 0, 0] = -0.25
    check_batch((images, labels), small, values="off")
    assert (
        message((images, labels), small) == "images.value_range: expected [0, 1], got [-0.25, 1.5]"
    )


def test_value_range_first_sample(small: BatchContract):
    images, labels = good()
    images.fill_(0.5)
    images[1, 0, 0, 0] = 2.0
    check_batch((images, labels), small, values="first")  # only sample 0 is read
    images[0, 0, 0, 0] = 3.0
    assert message((images, labels), small, values="first") == (
        "images.value_range: expected [0, 1], got [0.5, 3] (first sample)"
    )


def test_value_range_strided_reads_a_bounded_sample():
    contract = image_contract(C=1, H=512, W=512)
    images, labels = torch.rand(2, 1, 512, 512), torch.zeros(2, dtype=torch.int64)
    flat = images.view(-1)
    flat[1] = 5.0  # between two sampled elements: the stride is > 2
    check_batch((images, labels), contract, values="strided")
    flat[0] = 5.0  # the first sampled element
    got = message((images, labels), contract, values="strided")
    assert got.startswith("images.value_range: expected [0, 1], got [")
    assert got.endswith(", 5] (strided sample)")
    assert images.numel() // STRIDED_SAMPLE > 2


def test_strided_small_tensors_are_read_in_full(small: BatchContract):
    images, labels = good()
    images[1, 2, 3, 4] = 7.0
    assert message((images, labels), small, values="strided").endswith(", 7]")


def test_strided_channels_last_reads_without_copy():
    contract = image_contract(C=3, H=256, W=256, memory_format="channels_last")
    images = torch.rand(2, 3, 256, 256).contiguous(memory_format=torch.channels_last)
    images[0, 0, 0, 0] = -1.0  # first element in memory order
    labels = torch.zeros(2, dtype=torch.int64)
    assert message((images, labels), contract, values="strided").endswith("(strided sample)")


def test_nan_is_out_of_any_range(small: BatchContract):
    images, labels = good()
    images[0, 1, 1, 1] = float("nan")
    assert message((images, labels), small) == "images.value_range: expected [0, 1], got nan"
    assert message((images.numpy(), labels.numpy()), small) == (
        "images.value_range: expected [0, 1], got nan"
    )


def test_float_tolerance_is_a_few_ulps():
    contract = image_contract(value_range=(-2.1179039301310043, 2.6399999999999997))
    images, labels = good()
    images[0, 0, 0, 0] = 2.64  # float32(2.64) > 2.6399999999999997 by a fraction of an ulp
    images[0, 0, 0, 1] = -2.1179039301310043
    check_batch((images, labels), contract, values="full")
    check_batch(
        (images.bfloat16(), labels),
        image_contract(dtype="bfloat16", value_range=(-2.1179, 2.64)),
        values="full",
    )
    images[0, 0, 0, 0] = 2.6401
    assert message((images, labels), contract) == (
        "images.value_range: expected [-2.117904, 2.64], got [-2.117904, 2.6401]"
    )


def test_integer_ranges_are_exact():
    contract = BatchContract(
        tensors=(TensorSpec(name="labels", dims=["N"], dtype="int64", value_range=(0, 9)),)
    )
    check_batch(torch.arange(10), contract, values="full")
    assert message(torch.arange(11), contract) == "labels.value_range: expected [0, 9], got [0, 10]"


def test_a_range_covering_the_dtype_is_not_read():
    contract = BatchContract(
        tensors=(TensorSpec(name="images", dims=["N"], dtype="uint8", value_range=(0, 255)),)
    )
    # Nothing to find: every uint8 is in [0, 255]; the check must not cost a pass over the data.
    from dali_pipelines.contracts.check import _plan

    assert _plan(contract)[0].value_range is None
    check_batch(torch.full((4,), 255, dtype=torch.uint8), contract, values="full")


# -- the batch itself ----------------------------------------------------------------------
def test_tensor_count(small: BatchContract):
    images, labels = good()
    assert message((images,), small) == "batch: expected 2 tensors (images, labels), got 1"
    assert message((images, labels, labels), small) == (
        "batch: expected 2 tensors (images, labels), got 3"
    )


def test_dict_keys(small: BatchContract):
    images, labels = good()
    assert (
        message({"images": images}, small) == "batch: expected tensors images, labels, got images"
    )
    assert message({"images": images, "labels": labels, "x": labels}, small) == (
        "batch: expected tensors images, labels, got images, labels, x"
    )


def test_not_a_batch(small: BatchContract):
    assert message(good()[0], small) == (
        "batch: expected a tuple or dict of tensors (images, labels), got Tensor"
    )
    single = BatchContract(tensors=(small.tensors[1],))
    check_batch(torch.zeros(3, dtype=torch.int64), single)  # a one-tensor contract takes it bare


def test_not_a_tensor(small: BatchContract):
    images, labels = good()
    assert message((images, labels.tolist()), small) == (
        "labels: expected a torch.Tensor or numpy.ndarray, got list"
    )


def test_nullable():
    contract = BatchContract(
        tensors=(
            TensorSpec(name="images", dims=["N"], dtype="float32"),
            TensorSpec(name="boxes", dims=["N", "K", 4], dtype="float32", nullable=True),
        )
    )
    check_batch((torch.zeros(2), None), contract)
    assert message((None, None), contract) == "images: expected a tensor, got None"


def test_violations_collects_every_problem(small: BatchContract):
    images, labels = good(4)
    images.fill_(0.5)
    images[0, 0, 0, 0] = 9
    assert violations((images.double()[:, :2], labels[:2].int()), small) == [
        "images.dims[1]: expected C=3, got 2",
        "images.dtype: expected float32, got float64",
        "labels.dims[0]: expected N=4 (bound by images.dims[0]), got 2",
        "labels.dtype: expected int64, got int32",
    ]
    assert violations((images, labels), small) == [
        "images.value_range: expected [0, 1], got [0.5, 9]"
    ]


def test_bad_values_mode(small: BatchContract):
    with pytest.raises(
        ValueError, match="values: expected off, first, strided or full, got 'some'"
    ):
        check_batch(good(), small, values="some")  # type: ignore[arg-type]


# -- the loader's policy ---------------------------------------------------------------------
def test_checker_first_checks_the_first_batch_of_each_epoch(small: BatchContract):
    checker = ContractChecker(small)  # check="first"
    bad = good()[0][:, :1], good()[1]
    with pytest.raises(ContractViolation) as info:
        checker(bad)
    assert str(info.value) == "images.dims[1]: expected C=3, got 1 (epoch 0, batch 0)"
    assert checker(bad) is bad  # later batches are not checked
    checker.start_epoch(5)
    with pytest.raises(ContractViolation, match=r"\(epoch 5, batch 0\)$"):
        checker(bad)


def test_checker_first_batch_gets_full_values(small: BatchContract):
    images, labels = good()
    images[1, 2, 3, 4] = 2.0
    with pytest.raises(ContractViolation, match="value_range"):
        ContractChecker(small)((images, labels))


def test_checker_every(small: BatchContract):
    checker = ContractChecker(small, check="every")
    checker(good())
    checker(good())
    with pytest.raises(ContractViolation) as info:
        checker((good()[0], good(3)[1]))
    assert str(info.value) == (
        "labels.dims[0]: expected N=2 (bound by images.dims[0]), got 3 (epoch 0, batch 2)"
    )
    assert checker.checked == 2
    checker.start_epoch()
    assert (checker.epoch, checker.batch) == (1, 0)


def test_checker_off(small: BatchContract):
    checker = ContractChecker(small, check="off")
    checker(None)
    assert checker.checked == 0
    with pytest.raises(ValueError, match="check: expected off, first or every, got 'all'"):
        ContractChecker(small, check="all")  # type: ignore[arg-type]
