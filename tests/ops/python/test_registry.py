"""Python ops registered by name: specs refer to names, never to code; dumping rules."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError

from dali_pipelines import (
    OutputRule,
    PipelineSpec,
    dump_spec,
    load_spec,
    register_python_op,
    unregister_python_op,
)
from dali_pipelines.errors import RegistryError, SpecError
from dali_pipelines.ops.python import PythonParams
from dali_pipelines.ops.python.stage import InProcessStage
from dali_pipelines.ops.state import ImageState
from dali_pipelines.plan import make_plan

SPEC = {"ops": [{"op": "resize", "size": [20, 20]}, {"op": "python", "name": "test_swap"}]}


def test_a_spec_names_a_registered_op_and_dumps_by_name() -> None:
    spec = load_spec(SPEC)
    text = dump_spec(spec)
    assert "name: test_swap" in text
    assert load_spec(spec.model_dump(mode="json")) == spec


def test_an_unregistered_name_is_an_error_naming_it() -> None:
    with pytest.raises(SpecError, match=r"name: python op: .*got 'ocr_warp'"):
        load_spec({"ops": [{"op": "python", "name": "ocr_warp"}]})


def test_a_dotted_path_is_only_a_name() -> None:
    with pytest.raises(SpecError, match=r"os\.system"):
        load_spec({"ops": [{"op": "python", "name": "os.system"}]})


def test_a_spec_cannot_set_an_in_process_callable() -> None:
    values: list[Any] = [[], "os.system", {"call": "print"}]
    for value in values:
        with pytest.raises(SpecError, match="stage: expected no value in a spec"):
            load_spec({"ops": [{"op": "python", "name": "test_swap", "stage": value}]})


def test_params_must_fit_the_signature() -> None:
    ok = {"op": "python", "name": "test_corner", "params": {"side": 2}}
    op: Any = load_spec({"ops": [ok]}).ops[0]
    assert op.params == {"side": 2}
    with pytest.raises(SpecError, match="params: do not fit python op 'test_corner'"):
        load_spec({"ops": [{**ok, "params": {"sides": 2}}]})
    with pytest.raises(ValidationError, match="params: expected JSON values"):
        PythonParams(name="test_noise", params={"amount": object()})


def test_registering_twice_or_badly_fails() -> None:
    with pytest.raises(RegistryError, match="already registered"):
        register_python_op("test_swap")(lambda image: image)
    with pytest.raises(RegistryError, match="accepts"):
        register_python_op("x", accepts="bytes")  # type: ignore[arg-type]
    with pytest.raises(RegistryError, match="callable"):
        register_python_op("x")(42)


def test_unregister_and_reregister() -> None:
    register_python_op("test_tmp", dtype="float32")(lambda image: image.astype(np.float32))
    state = make_plan(load_spec({"ops": [{"op": "python", "name": "test_tmp"}]})).final
    assert state.dtype == "float32" and state.value_range == (0.0, 1.0)
    unregister_python_op("test_tmp")
    with pytest.raises(SpecError):
        load_spec({"ops": [{"op": "python", "name": "test_tmp"}]})


def _in_process() -> PipelineSpec:
    stage = InProcessStage(call=lambda image: image, accepts="pil", output=OutputRule(), label="f")
    return PipelineSpec(ops=(PythonParams(name="my_lambda", stage=stage),))


def test_in_process_stages_run_but_do_not_dump() -> None:
    spec = _in_process()
    with pytest.raises(SpecError, match=r"ops\[0\]: python stage 'my_lambda' .*register_python_op"):
        dump_spec(spec)
    # The fingerprint names the callable's definition, so resume works across processes.
    assert len(spec.fingerprint) == 16
    assert "test_registry._in_process.<locals>.<lambda>" in spec.canonical_json()


def test_output_rules_fold_into_the_state() -> None:
    plan = make_plan(load_spec({"ops": [{"op": "python", "name": "test_corner"}]}))
    assert plan.final.fixed_size == (16, 16)
    assert OutputRule(size="varies").apply(ImageState(height=4, width=4)).fixed_size is None
    assert OutputRule(channels=1).apply(ImageState()).channels == 1
