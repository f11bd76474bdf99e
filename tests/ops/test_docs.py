"""docs/operators.md is generated from the registry and must be up to date."""

from __future__ import annotations

from pathlib import Path

from dali_pipelines.ops import registered_ops
from dali_pipelines.ops.docs import render_operators_md, type_str

DOC = Path(__file__).resolve().parents[2] / "docs" / "operators.md"


def test_operators_md_is_current() -> None:
    assert DOC.is_file(), "docs/operators.md is missing: run python -m dali_pipelines.ops.docs"
    assert DOC.read_text(encoding="utf-8") == render_operators_md(), (
        "docs/operators.md is stale: run python -m dali_pipelines.ops.docs"
    )


def test_every_op_and_param_is_documented() -> None:
    text = render_operators_md()
    for name, op in registered_ops().items():
        assert f"## `{name}`" in text
        section = text.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
        assert op.tolerance.replace("|", "\\|") in section
        for field in op.Params.model_fields:
            if field != "op":
                assert f"| `{field}` |" in section, f"{name}.{field}"


def test_type_str() -> None:
    from typing import Literal

    from pydantic import PositiveInt

    assert type_str(PositiveInt | tuple[PositiveInt, PositiveInt]) == (
        "int > 0 | tuple[int > 0, int > 0]"
    )
    assert type_str(Literal["a", "b"] | None) == "'a' | 'b' | None"
    assert type_str(tuple[float, ...]) == "tuple[float, ...]"


def test_every_bound_has_a_measured_figure_within_it() -> None:
    """docs/operators.md states each op's bounds and what tests/backends/test_reference.py
    measured end to end; a measured figure never exceeds its bound."""
    from dali_pipelines.ops.docs import END_TO_END

    keys = set()
    for name, op in registered_ops().items():
        for bound in op.bounds:
            key = f"{name} ({bound.when})" if bound.when else name
            keys.add(key)
            most, mean, floats = END_TO_END.get(key, (None, None, None))
            assert most is None or most <= bound.max_abs, key
            assert mean is None or mean <= bound.mean_abs, key
            assert floats is None or floats <= bound.float_abs, key
    assert set(END_TO_END) <= keys, f"figures of no bound: {sorted(set(END_TO_END) - keys)}"
    unmeasured = [name for name in registered_ops() if name not in END_TO_END]
    assert not unmeasured, f"ops without a measured figure: {unmeasured}"
