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
    """docs/operators.md states each op's bounds and what was measured: end to end by
    tests/backends/test_reference.py for image ops, on the audio cases for audio ops
    (tests/ops/audio/test_documented.py); a measured figure never exceeds its bound."""
    from dali_pipelines.ops.docs import AUDIO_MEASURED, END_TO_END

    keys, audio_keys = set(), set()
    for name, op in registered_ops().items():
        for bound in op.bounds:
            key = f"{name} ({bound.when})" if bound.when else name
            if op.modality == "audio":
                audio_keys.add(key)
                floats = AUDIO_MEASURED.get(key)
                assert floats is None or floats <= bound.float_abs, key
                continue
            keys.add(key)
            most, mean, floats = END_TO_END.get(key, (None, None, None))
            assert most is None or most <= bound.max_abs, key
            assert mean is None or mean <= bound.mean_abs, key
            assert floats is None or floats <= bound.float_abs, key
    assert set(END_TO_END) <= keys, f"figures of no bound: {sorted(set(END_TO_END) - keys)}"
    assert set(AUDIO_MEASURED) <= audio_keys, sorted(set(AUDIO_MEASURED) - audio_keys)
    measured = set(END_TO_END) | {key.split(" ")[0] for key in AUDIO_MEASURED}
    unmeasured = [name for name in registered_ops() if name not in measured]
    assert not unmeasured, f"ops without a measured figure: {unmeasured}"


def test_audio_ops_have_their_own_section() -> None:
    """Image ops keep their table and sections; audio ops are listed after them, each with its
    reference implementation instead of a torchvision transform."""
    image, audio = render_operators_md().split("\n## Audio ops\n", 1)
    for name, op in registered_ops().items():
        where, other = (audio, image) if op.modality == "audio" else (image, audio)
        assert f"[`{name}`](#{name})" in where and f"## `{name}`" in where, name
        assert f"## `{name}`" not in other, name
        if op.modality == "audio":
            section = audio.split(f"## `{name}`", 1)[1].split("\n## ", 1)[0]
            assert f"| Reference | {op.reference_name}" in section, name
            assert "torchvision" not in section, name
