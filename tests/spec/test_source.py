"""The spec's source section: validation, dumps, fingerprints of classic specs unchanged."""

from __future__ import annotations

from typing import Any

import pytest

from dali_pipelines import dump_spec, load_spec
from dali_pipelines.errors import SpecError
from dali_pipelines.plan import make_plan

OPS = [{"op": "resize", "size": [8, 8]}]


def spec(**source: Any) -> dict[str, Any]:
    return {"ops": OPS, "source": source}


def test_classic_specs_keep_their_dump_and_fingerprint() -> None:
    classic = load_spec({"ops": OPS})
    assert "source" not in classic.canonical_json() and "source" not in dump_spec(classic)
    with_source = load_spec(spec(outputs=[{"kind": "image", "name": "images"}, {"kind": "label"}]))
    assert with_source.fingerprint != classic.fingerprint
    assert load_spec(with_source.model_dump(mode="json")) == with_source


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ({"outputs": [{"kind": "label"}]}, "expected at least one output of kind 'image'"),
        (
            {"outputs": [{"kind": "image", "name": "a"}, {"kind": "image", "name": "a"}]},
            "expected distinct output names, got 'a' twice",
        ),
        (
            {"outputs": [{"kind": "image", "name": "boxes_labels"}, {"kind": "boxes"}]},
            "got 'boxes_labels' twice",
        ),
        ({"outputs": [{"kind": "image", "name": "class"}]}, "not a Python keyword"),
        ({"outputs": [{"kind": "image", "name": "a b"}]}, "should match pattern"),
        (
            {"outputs": [{"kind": "image", "name": "a"}, {"kind": "boxes", "image": "b"}]},
            r"outputs\.boxes\.image: expected one of \['a'\], got 'b'",
        ),
        (
            {"outputs": [{"kind": "image", "name": "a"}, {"kind": "features", "columns": []}]},
            "at least 1 item",
        ),
        ({"outputs": [{"kind": "image", "name": "a"}], "shared_random": "some"}, "geometric"),
        (
            {"outputs": [{"kind": "image", "name": "a"}, {"kind": "label", "classes": ["x", "x"]}]},
            "expected distinct class names",
        ),
    ],
)
def test_invalid_sources(source: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError, match=message):
        load_spec({"ops": OPS, "source": source})


def test_image_sizes_name_clash_is_found_by_the_planner() -> None:
    outputs = [{"kind": "image", "name": "a"}, {"kind": "label", "name": "a_sizes"}]
    varying = {"ops": [{"op": "resize", "size": 8}], "source": {"outputs": outputs}}
    with pytest.raises(SpecError, match="expected distinct output names, got 'a_sizes' twice"):
        make_plan(load_spec(varying))
