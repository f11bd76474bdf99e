from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from dali_pipelines import PipelineSpec, dump_spec, load_spec, register_strategy
from dali_pipelines.errors import RegistryError, SpecError
from dali_pipelines.spec import get_strategy, registered_strategies

SPEC = {
    "ops": [
        {"op": "resize", "size": 64},
        {"op": "center_crop", "size": [56, 56]},
        {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]},
    ],
    "output": {"dtype": "float16"},
}


def test_dict_yaml_json_load_to_equal_specs(tmp_path: Path) -> None:
    spec = load_spec(SPEC)
    yaml_path, json_path = tmp_path / "s.yaml", tmp_path / "s.json"
    dump_spec(spec, yaml_path)
    dump_spec(spec, json_path)
    assert load_spec(yaml_path) == spec
    assert load_spec(str(json_path)) == spec
    assert json.loads(json_path.read_text())["ops"][0] == {
        "op": "resize",
        "size": 64,
        "interpolation": "bilinear",
        "max_size": None,
        "antialias": True,
    }


def test_fingerprint_is_stable_and_sensitive() -> None:
    a, b = load_spec(SPEC), load_spec(json.loads(json.dumps(SPEC)))
    assert a.fingerprint == b.fingerprint and len(a.fingerprint) == 16
    changed = dict(SPEC, output={"dtype": "float32"})
    assert load_spec(changed).fingerprint != a.fingerprint
    # The display name is not part of the identity.
    assert a.model_copy(update={"name": "x"}).fingerprint == a.fingerprint


def test_models_are_frozen_and_strict() -> None:
    spec = load_spec(SPEC)
    with pytest.raises(ValidationError):
        spec.output = None  # type: ignore[assignment]
    with pytest.raises(SpecError, match="colour: expected no extra field, got 'rgb'"):
        load_spec({"ops": [], "colour": "rgb"})


@pytest.mark.parametrize(
    ("ops", "fragment"),
    [
        ([{"op": "resize", "size": -3}], "ops[0] (resize).size: expected greater than 0, got -3"),
        (
            [{"op": "resize", "size": 8}, {"op": "center_crop", "size": [0, 4]}],
            "ops[1] (center_crop).size[0]: expected greater than 0, got 0",
        ),
        ([{"op": "spin", "size": 3}], "ops[0].op: expected one of "),
        (
            [{"op": "normalize", "mean": [0.5, 0.5], "std": [0.5]}],
            "ops[0] (normalize).std: expected 2 values like mean, got 1",
        ),
    ],
)
def test_bad_specs_name_op_index_and_field(ops: list[dict[str, object]], fragment: str) -> None:
    with pytest.raises(SpecError) as info:
        load_spec({"ops": ops})
    assert str(info.value).startswith("spec: ") and fragment in str(info.value)


def test_yaml_is_safe_loaded(tmp_path: Path) -> None:
    path = tmp_path / "evil.yaml"
    path.write_text("!!python/object/apply:os.system ['echo hi']\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        load_spec(path)


def test_missing_file_and_unknown_strategy() -> None:
    with pytest.raises(SpecError, match="expected an existing file"):
        load_spec("nope.yaml")
    with pytest.raises(RegistryError, match=r"strategy: expected one of .*imagenet_train"):
        load_spec("imagenet_trian")


def test_shipped_strategies() -> None:
    assert {"imagenet_train", "imagenet_val"} <= set(registered_strategies())
    train = get_strategy("imagenet_train")
    names = [o["op"] for o in train.model_dump()["ops"]]
    assert names == ["random_resized_crop", "horizontal_flip", "normalize"]
    assert train.name == "imagenet_train"
    assert load_spec("imagenet_val") == get_strategy("imagenet_val")


def test_register_strategy_twice_raises() -> None:
    @register_strategy("tests_only_strategy")
    def _first() -> dict[str, object]:
        return {"ops": [{"op": "resize", "size": [8, 8]}]}

    assert isinstance(load_spec("tests_only_strategy"), PipelineSpec)
    with pytest.raises(RegistryError, match="already registered"):

        @register_strategy("tests_only_strategy")
        def _second() -> dict[str, object]:
            return {}
