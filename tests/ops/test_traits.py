"""Op traits: every registered op declares each one itself, and its methods agree with them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import pytest

from dali_pipelines.errors import RegistryError
from dali_pipelines.ops import Op, OpParams, register_op, registered_ops
from dali_pipelines.ops.base import TRAITS, DaliContext
from dali_pipelines.translate.rules import ops_by_torchvision_class

OPS = registered_ops()


def _own(op: Op[Any], method: str) -> bool:
    return getattr(type(op), method) is not getattr(Op, method)


def test_the_base_declares_no_trait_value() -> None:
    """A default on Op would let an op inherit a trait silently."""
    assert not [trait for trait in TRAITS if trait in vars(Op)]


@pytest.mark.parametrize("name", sorted(OPS))
def test_every_op_declares_every_trait(name: str) -> None:
    op = OPS[name]
    assert [trait for trait in TRAITS if not hasattr(type(op), trait)] == []
    assert isinstance(op.batchable, bool) and isinstance(op.size_free, bool)
    assert isinstance(op.needs_sample_index, bool)
    assert op.box_rule in ("keep", "move", "refuse")
    assert isinstance(op.torchvision_classes, tuple)


@pytest.mark.parametrize("name", sorted(OPS))
def test_methods_agree_with_traits(name: str) -> None:
    op = OPS[name]
    assert _own(op, "transform_boxes") == (op.box_rule == "move")
    assert _own(op, "build_dali_output") == op.fuses_output
    assert _own(op, "build_dali_decode") == op.fuses_decode
    assert _own(op, "from_torchvision_args") == bool(op.torchvision_classes)
    if op.pixelwise:
        assert op.box_rule == "keep"
    if op.batchable and op.random:  # per-sample draws: the first sample's would not do
        assert _own(op, "apply_batch")


def test_each_torchvision_class_has_one_op_and_exists() -> None:
    from torchvision.transforms import v2

    classes = ops_by_torchvision_class()
    assert classes["Resize"] is OPS["resize"]
    for name in classes:
        assert hasattr(v2, name) or name == "ToTensor", name  # ToTensor is v1 only


class _BareParams(OpParams):
    op: Literal["_trait_probe"] = "_trait_probe"


class _Bare(Op[_BareParams]):
    name = "_trait_probe"
    Params = _BareParams

    def build_dali(self, p: Any, image: Any, args: Mapping[str, Any], ctx: DaliContext) -> Any:
        return image

    def apply_torch(self, p: Any, image: Any, args: Any) -> Any:
        return image

    def torchvision(self, p: Any) -> Any:
        return None


def test_register_op_refuses_an_undeclared_trait() -> None:
    with pytest.raises(RegistryError, match="expected declared traits"):
        register_op(_Bare)
    assert "_trait_probe" not in registered_ops()


def test_register_op_refuses_a_trait_without_its_method() -> None:
    class Moves(_Bare):
        batchable = size_free = needs_sample_index = False
        fuses_output = fuses_decode = False
        box_rule = "move"
        torchvision_classes = ()

    with pytest.raises(RegistryError, match="expected its own transform_boxes"):
        register_op(Moves)
    assert "_trait_probe" not in registered_ops()
