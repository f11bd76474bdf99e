"""Hostile specs (issue 12, items 1, 8 and 10) and the spec cases that were already handled.

Each probe runs in a child process under a memory and a time limit (``run_limited``): loading a
spec needs neither torch nor DALI, so 1 GiB of address space is plenty, and a regression (the
alias bomb took 19 GB and > 300 s) fails its test instead of exhausting the machine. A probe
prints one line: ``OK`` and a value, ``SpecError <length>:`` and the message, or ``RAW`` and an
exception that is not the project's; the test matches that line.

Run the suite with ``python -m pytest -q tests/adversarial``.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.adversarial.limits import run_limited

MEMORY_MB = 1024
SECONDS = 60.0
#: The longest message a probe may get: bounded whatever the spec holds.
MAX_MESSAGE = 1000

PRELUDE = """
import json
from dali_pipelines import load_spec
from dali_pipelines.errors import DaliPipelinesError, SpecError
from dali_pipelines.spec.limits import SpecLimits


def outcome(fn):
    try:
        value = fn()
    except SpecError as exc:  # on one line, however many lines the message has
        return f"SpecError {len(str(exc))}: " + " ".join(str(exc)[:2000].split())
    except DaliPipelinesError as exc:
        return type(exc).__name__ + ": " + str(exc)[:2000]
    except BaseException as exc:
        return "RAW " + type(exc).__name__ + ": " + str(exc)[:300]
    return "OK " + repr(value)[:500]
"""


def probe(code: str, *, memory_mb: int = MEMORY_MB, seconds: float = SECONDS) -> str:
    """Run ``code`` after the prelude in a limited child; its last printed line."""
    done = run_limited(PRELUDE + code, memory_mb=memory_mb, seconds=seconds)
    assert not done.timed_out, f"probe ran past {seconds} s\n{done.stderr[-2000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    return done.last_line


def refused(line: str, *fragments: str) -> str:
    """The message of a ``SpecError`` line, checked bounded and holding every fragment."""
    match = re.fullmatch(r"SpecError (\d+): (.*)", line)
    assert match, line
    assert int(match[1]) <= MAX_MESSAGE, f"{match[1]} characters: {line[:300]}"
    for fragment in fragments:
        assert fragment in match[2], f"{fragment!r} not in {match[2]!r}"
    return match[2]


def load(source: str, extra: str = "") -> str:
    """The outcome of ``load_spec(<source expression>)`` in a limited child."""
    return probe(f"{extra}\nprint(outcome(lambda: load_spec({source})))")


def alias_bomb(levels: int, width: int = 9, tail: str = "ops: []") -> str:
    """``a<i>: &a<i> [*a<i-1>, ...]``: ``width ** levels`` values in ~500 bytes."""
    lines = ["a0: &a0 [" + ", ".join(["x"] * width) + "]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join([*lines, tail]) + "\n"


# -- item 1: bounded size: aliases, bytes, nesting, encodings ------------------------------------
def test_the_alias_bomb_file_is_refused_fast(tmp_path: Path) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9))
    assert path.stat().st_size < 600
    refused(load(repr(str(path))), f"spec file {path}", "100000 values with aliases expanded")


@pytest.mark.parametrize(
    "tail",
    ["ops: *a8", "name: *a8", "ops:\n  - {op: resize, size: *a8}"],
    ids=["ops", "name", "op"],
)
def test_an_alias_bomb_anywhere_is_refused(tmp_path: Path, tail: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(9, tail=tail))
    refused(load(repr(str(path))), "aliases expanded")


def test_the_alias_bomb_as_text_and_as_a_dict() -> None:
    text = alias_bomb(9)
    refused(load(repr(text)), "spec text: ", "aliases expanded")
    # yaml.safe_load keeps the aliases shared: the dict is small, its expansion is not.
    refused(load(f"yaml.safe_load({text!r})", "import yaml"), "spec: ", "aliases expanded")


@pytest.mark.parametrize("command", ["contract", "check"])
def test_the_cli_refuses_the_alias_bomb(tmp_path: Path, command: str) -> None:
    path = tmp_path / "bomb.yaml"
    path.write_text(alias_bomb(8))
    done = run_limited(
        "from dali_pipelines.cli.main import main\n"
        f"print('rc', main([{command!r}, {str(path)!r}]))",
        memory_mb=MEMORY_MB,
        seconds=SECONDS,
    )
    assert not done.timed_out and done.returncode == 0, done.stderr[-2000:]
    assert done.last_line == "rc 1"
    printed = done.stdout + done.stderr  # contract reports on stderr, check on stdout
    assert "aliases expanded" in " ".join(printed.split()) and str(path.name) in printed
    assert len(printed) < MAX_MESSAGE


def test_aliases_within_the_budget_load(tmp_path: Path) -> None:
    path = tmp_path / "shared.yaml"
    path.write_text(
        "ops:\n  - {op: resize, size: &hw [8, 8]}\n  - {op: center_crop, size: *hw}\n"
        "  - {op: normalize, mean: &s [0.5, 0.5, 0.5], std: *s}\n"
    )
    assert load(f"{str(path)!r}").startswith("OK PipelineSpec(")


def test_a_recursive_alias_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "loop.yaml"
    path.write_text("ops: &a [*a]\n")
    refused(load(repr(str(path))), f"spec file {path}", "contains itself")


def test_a_self_containing_dict_is_refused() -> None:
    refused(load("loop", "loop = {'ops': []}\nloop['name'] = [loop]"), "contains itself")


def test_deep_yaml_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("ops: " + "[" * 5000 + "]" * 5000 + "\n")
    refused(load(repr(str(path))), f"spec file {path}")
    block = tmp_path / "block.yaml"  # block style: the depth check, not libyaml's flow limit
    block.write_text("ops: []\nname:\n" + "".join(" " * i + "- \n" for i in range(1, 200)))
    refused(load(repr(str(block))), f"spec file {block}", "at most 64 levels of nesting")


def test_deep_yaml_with_the_pure_python_loader_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("ops: " + "[" * 5000 + "]" * 5000 + "\n")
    setup = "import yaml, dali_pipelines.spec.limits as L\nL._Loader = yaml.SafeLoader"
    refused(load(repr(str(path)), setup), f"spec file {path}", "at most 64 levels")


def test_deep_json_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text('{"ops": ' + "[" * 100_000 + "]" * 100_000 + "}")
    refused(load(repr(str(path))), f"spec file {path}", "at most 64 levels")
    as_text = f"text = open({str(path)!r}).read()"  # too long for a command line
    refused(load("text", as_text), "spec text: ", "at most 64 levels")


def test_a_deep_dict_is_refused() -> None:
    build = "deep = []\nfor _ in range(100_000):\n    deep = [deep]\nspec = {'ops': deep}"
    refused(load("spec", build), "spec: ", "at most 64 levels")


def test_brackets_inside_json_strings_are_not_nesting(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps({"name": "[" * 500 + '\\"{', "ops": []}))
    assert load(repr(str(path))).startswith("OK PipelineSpec(")


def test_non_utf8_is_refused_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes("name: caf\u00e9\nops: []\n".encode("latin-1"))
    refused(load(repr(str(path))), f"spec file {path}: expected UTF-8 text, got byte 0xe9")
    utf16 = tmp_path / "utf16.json"
    utf16.write_bytes('{"ops": []}'.encode("utf-16"))
    refused(load(repr(str(utf16))), f"spec file {utf16}: expected UTF-8 text")


def test_a_utf8_bom_is_fine(tmp_path: Path) -> None:
    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbfops: []\n")
    assert load(repr(str(path))).startswith("OK PipelineSpec(")


def test_a_large_file_is_refused_and_the_limit_is_overridable(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    path.write_text("ops: []\nname: " + "x" * (2 << 20) + "\n")
    refused(load(repr(str(path))), f"spec file {path}: expected at most 1048576 bytes")
    raised = load(f"{str(path)!r}, limits=SpecLimits(max_bytes=4 << 20)")
    assert raised.startswith("OK PipelineSpec(")
    as_text = f"text = open({str(path)!r}).read()"
    refused(load("text", as_text), "spec text: expected at most 1048576 bytes")


def test_the_limits_are_module_constants_and_a_parameter() -> None:
    spec = {"ops": [{"op": "resize", "size": [8, 8]}, {"op": "horizontal_flip"}]}
    refused(load(f"{spec!r}, limits=SpecLimits(max_nodes=5)"), "at most 5 values")
    refused(load(f"{spec!r}, limits=SpecLimits(max_depth=2)"), "at most 2 levels")
    setup = "import dali_pipelines.spec.limits as L\nL.MAX_SPEC_NODES = 5"
    refused(load(repr(spec), setup), "at most 5 values")
    assert load(repr(spec)).startswith("OK PipelineSpec(")


def test_huge_integers_are_refused(tmp_path: Path) -> None:
    digits = "9" * 5000
    path = tmp_path / "int.json"
    path.write_text(f'{{"ops": [{{"op": "resize", "size": {digits}}}]}}')
    refused(load(repr(str(path))), f"spec file {path}: not valid JSON")
    yml = tmp_path / "int.yaml"
    yml.write_text(f"ops:\n  - {{op: resize, size: {digits}}}\n")
    refused(load(repr(str(yml))), f"spec file {yml}: not valid YAML")
    refused(load("{'ops': [{'op': 'resize', 'size': 10**5000}]}"), "ops[0] (resize).size")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_special_files_are_not_read(tmp_path: Path) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)  # reading it would block forever
    refused(load(repr(str(fifo))), f"expected an existing file, got {fifo}")
    zero = tmp_path / "zero.yaml"
    zero.symlink_to("/dev/zero")
    refused(load(repr(str(zero))), f"expected an existing file, got {zero}")


def test_messages_never_render_unbounded_input() -> None:
    big = "big = 'x' * (1 << 20)"
    refused(load("{'ops': [{'op': big}]}", big), "ops[0].op: expected one of", "...")
    refused(load("{'ops': [{'op': 'resize', 'size': big}]}", big), "ops[0] (resize).size")
    refused(load("{'ops': big}", big), "ops: expected a valid tuple")
    many = "[{'op': 'resize', 'size': -1}] * 10_000"
    message = refused(load(f"{{'ops': {many}}}"), "ops[0] (resize).size", "more errors")
    assert message.count("ops[") == 3
    within = "[[list(range(10_000))] * 5, 8]"  # 50,000 values: validated, shown clipped
    refused(load(f"{{'ops': [{{'op': 'resize', 'size': {within}}}]}}"), "ops[0] (resize).size")
    beyond = "[[[list(range(100))] * 100] * 100]"  # a million values: refused before
    refused(load(f"{{'ops': [{{'op': 'resize', 'size': {beyond}}}]}}"), "aliases expanded")


def test_direct_validation_never_renders_the_input() -> None:
    code = """
from pydantic import ValidationError
from dali_pipelines import PipelineSpec
try:
    PipelineSpec.model_validate({"ops": [{"op": "resize", "size": "x" * 100000}]})
except ValidationError as exc:
    print("ValidationError", len(str(exc)), "xxxxxxxxxx" in str(exc))
"""
    line = probe(code)
    length, shown = line.split()[1:]
    assert int(length) < 4 * MAX_MESSAGE and shown == "False", line  # pydantic's own wording


# -- item 8: normalize's values are bounded at the op ---------------------------------------------
@pytest.mark.parametrize(
    ("mean", "std", "fragment"),
    [
        ([1e308], [1e-308], "ops[0] (normalize).mean[0]: expected less than or equal to 1000000"),
        ([0.5], [1e-300], "ops[0] (normalize).std: expected (x - mean) / std finite in float32"),
        ([0.5], [1e-308], "ops[0] (normalize).std"),
        ([0.5], [1e7], "ops[0] (normalize).std[0]: expected less than or equal to 1000000"),
    ],
)
def test_normalize_extremes_name_the_op(mean: list[float], std: list[float], fragment: str) -> None:
    spec = {"ops": [{"op": "normalize", "mean": mean, "std": std}]}
    code = f"from dali_pipelines.contracts import infer_contract\n{spec=}\n"
    line = probe(code + "print(outcome(lambda: infer_contract(spec)))")
    assert "TensorSpec" not in refused(line, fragment)


def test_normalize_range_must_fit_a_float16_input() -> None:
    spec = {
        "ops": [
            {"op": "to_dtype", "dtype": "float16", "scale": True},
            {"op": "normalize", "mean": [0.5], "std": [1e-6]},
        ]
    }
    code = f"from dali_pipelines.contracts import infer_contract\n{spec=}\n"
    line = probe(code + "print(outcome(lambda: infer_contract(spec)))")
    refused(line, "ops[1]", "std", "float16")


# -- item 10: no silent coercions ----------------------------------------------------------------
STRICT_CHECK = """
import typing, types
from tests.ops.audio.cases import AUDIO_CASES
from tests.ops.cases import OP_CASES
from dali_pipelines.ops import registered_ops
from dali_pipelines.ops.batch import _BATCH_OPS

def numeric(annotation, kinds):
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return numeric(args[0], kinds)
    if origin is typing.Literal:
        return any(type(a) in kinds for a in args)
    if args:
        return any(numeric(a, kinds) for a in args if a is not Ellipsis)
    return annotation in kinds

# A bool for an int or a float, a number for a bool, a string for any.
KINDS = (({int}, [True, "8"]), ({bool}, [1, "true"]), ({float}, [True, "0.5"]))
failures, checked = [], 0
def check(spec, where, field, bad):
    global checked
    checked += 1
    try:
        load_spec(spec)
    except SpecError as exc:
        if f"{where}.{field}" not in str(exc):
            failures.append(f"{where}.{field}={bad!r}: {exc}")
    else:
        failures.append(f"{where}.{field}={bad!r}: accepted")

for name, op in registered_ops().items():
    cases = OP_CASES if op.modality == "image" else AUDIO_CASES
    base = {k: v for k, v in cases[name][0].chain[-1].items()}
    for field, info in op.Params.model_fields.items():
        for kinds, bads in KINDS:
            if field != "op" and numeric(info.annotation, kinds):
                for bad in bads:
                    check({"ops": [{**base, field: bad}]}, f"ops[0] ({name})", field, bad)
for name, op in _BATCH_OPS.items():
    for field, info in op.Params.model_fields.items():
        for kinds, bads in KINDS:
            if field != "op" and numeric(info.annotation, kinds):
                for bad in bads:
                    spec = {"batch_ops": [{"op": name, field: bad}]}
                    check(spec, "batch_ops[0]", field, bad)
source = {"outputs": [{"kind": "image", "name": "image"}]}
for bad in (1, "true"):
    check({"source": {**source, "shared_random": bad}}, "source", "shared_random", bad)
print(json.dumps({"checked": checked, "failures": failures}))
"""


def test_every_op_refuses_true_and_strings_for_numbers() -> None:
    result = json.loads(probe(STRICT_CHECK))
    assert result["failures"] == []
    assert result["checked"] >= 40


def test_no_spec_model_has_a_lax_number() -> None:
    code = """
from pydantic import BaseModel
from dali_pipelines.spec.models import PipelineSpec
from dali_pipelines.ops.batch import _BATCH_OPS

def lax(schema, path=""):
    if isinstance(schema, dict):
        number = schema.get("type") in ("int", "bool", "float")
        found = [path] if number and not schema.get("strict") else []
        return found + [p for k, v in schema.items() for p in lax(v, f"{path}/{k}")]
    if isinstance(schema, list):
        return [p for i, v in enumerate(schema) for p in lax(v, f"{path}[{i}]")]
    return []

class Control(BaseModel):
    n: int
assert lax(Control.__pydantic_core_schema__), "the walk finds a plain int"
models = [PipelineSpec, *(op.Params for op in _BATCH_OPS.values())]
print(json.dumps([p for m in models for p in lax(m.__pydantic_core_schema__)]))
"""
    assert json.loads(probe(code)) == []


@pytest.mark.parametrize(
    ("op", "fragment"),
    [
        ({"op": "resize", "size": [8, True]}, "ops[0] (resize).size[1]: expected a valid integer"),
        ({"op": "resize", "size": ["8", 8]}, "ops[0] (resize).size[0]"),
        ({"op": "resize", "size": 8.0}, "ops[0] (resize).size: expected a valid integer"),
        ({"op": "pad", "padding": [1, "2"]}, "ops[0] (pad).padding[1]"),
        ({"op": "random_resized_crop", "size": 8, "scale": [True, 1]}, "scale[0]"),
        ({"op": "normalize", "mean": ["0.5"], "std": [1]}, "ops[0] (normalize).mean[0]"),
        ({"op": "grayscale", "num_output_channels": 1.0}, "num_output_channels"),
        ({"op": "to_dtype", "dtype": "float32", "scale": "yes"}, "scale"),
    ],
)
def test_tuple_elements_are_strict_too(op: dict[str, Any], fragment: str) -> None:
    refused(load(repr({"ops": [op]})), fragment)


def test_yaml_typos_are_refused_not_coerced(tmp_path: Path) -> None:
    for value, fragment in (("true", "got True"), ('"8"', "got '8'"), ("8.0", "got 8.0")):
        path = tmp_path / "typo.yaml"
        path.write_text(f"ops:\n  - op: resize\n    size: {value}\n")
        refused(load(repr(str(path))), f"spec file {path}: ops[0] (resize).size", fragment)


def test_what_yaml_json_and_numpy_give_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "ok.yaml"
    path.write_text(
        "ops:\n  - {op: resize, size: [8, 8], antialias: false}\n"
        "  - {op: horizontal_flip, p: 1}\n  - {op: normalize, mean: [0, 0.5, 1], std: [1, 1, 1]}\n"
    )
    assert load(repr(str(path))).startswith("OK PipelineSpec(")
    numpy = (
        "import numpy as np\nspec = {'ops': ["
        "{'op': 'resize', 'size': [np.int64(8), np.uint16(8)], 'antialias': np.bool_(False)}, "
        "{'op': 'horizontal_flip', 'p': np.float32(0.5)}]}"
    )
    assert load("spec", numpy).startswith("OK PipelineSpec(")


# -- cases that were handled already: they stay handled -------------------------------------------
@pytest.mark.parametrize(
    ("ops", "fragment"),
    [
        ([{"op": "spin"}], "ops[0].op: expected one of "),
        ([{"op": "resize", "size": 8, "colour": "red"}], "colour: expected no extra field"),
        ([{"op": "resize", "size": [8, 8, 8]}], "ops[0] (resize).size"),
        ([{"op": "resize", "size": -3}], "ops[0] (resize).size: expected greater than 0, got -3"),
        ([{"op": "center_crop", "size": 0}], "ops[0] (center_crop).size"),
        ([{"op": "resize"}], "ops[0] (resize).size: expected a value, got none"),
        ([{"size": 8}], "ops[0]: expected a mapping with an 'op' key"),
        (["resize"], "ops[0]"),
        ([{"op": "rotate", "degrees": float("nan")}], "ops[0] (rotate).degrees"),
    ],
)
def test_bad_specs_name_the_op_and_field(ops: list[Any], fragment: str) -> None:
    refused(load(repr({"ops": ops}).replace("nan", "float('nan')")), "spec: ", fragment)


def test_an_impossible_chain_names_the_op(tmp_path: Path) -> None:
    path = tmp_path / "chain.yaml"
    path.write_text(
        yaml.safe_dump(
            {"ops": [{"op": "resize", "size": [8, 8]}, {"op": "center_crop", "size": [16, 16]}]}
        )
    )
    code = f"from dali_pipelines.contracts import infer_contract\npath = {str(path)!r}\n"
    refused(probe(code + "print(outcome(lambda: infer_contract(path)))"), "ops[1]", "size")


def test_unknown_top_level_field_missing_file_and_tags(tmp_path: Path) -> None:
    refused(load("{'ops': [], 'colour': 'rgb'}"), "spec: colour: expected no extra field")
    refused(load(repr(str(tmp_path / "nope.yaml"))), "expected an existing file")
    evil = tmp_path / "evil.yaml"
    evil.write_text("!!python/object/apply:os.system ['echo hi']\n")
    refused(load(repr(str(evil))), f"spec file {evil}: not valid YAML")
    top = tmp_path / "list.json"
    top.write_text("[1, 2]")
    refused(load(repr(str(top))), f"spec file {top}: expected a mapping at the top, got list")


def test_an_unknown_strategy_is_a_registry_error() -> None:
    assert load("'imagenet_trian'").startswith("RegistryError: strategy: expected one of")
