"""Fingerprints pinned: a dependency version that changes them breaks resume states, contracts
and report comparisons (issue 12, item 9: with pydantic 2.11 imagenet_train's fingerprint was
34dfddf282b8fa0c). ``scripts/lowest-deps.sh`` runs this file at the lowest versions
pyproject.toml allows, so a floor set too low fails here.

A deliberate change of a strategy or of the canonical dump changes these values: update them
in the same commit and say so, since every saved state and report of the old value stops
matching.
"""

from __future__ import annotations

import pytest

from dali_pipelines import load_spec

FINGERPRINTS = {
    "imagenet_train": "b019d0a581ef13ab",
    "imagenet_val": "7545478e220b8799",
}
IMAGENET_TRAIN = (
    '{"decode":{"color":"rgb"},"ops":[{"antialias":true,"interpolation":"bilinear",'
    '"op":"random_resized_crop","ratio":[0.75,1.3333333333333333],"scale":[0.08,1.0],'
    '"size":[224,224]},{"op":"horizontal_flip","p":0.5},{"mean":[0.485,0.456,0.406],'
    '"op":"normalize","std":[0.229,0.224,0.225]}],"output":{"dtype":"float32","layout":"CHW",'
    '"memory_format":"contiguous"},"schema_version":1}'
)


def test_imagenet_train_canonical_dump_is_pinned() -> None:
    # The dump first: when it drifts, the diff says which field did.
    assert load_spec("imagenet_train").canonical_json() == IMAGENET_TRAIN


@pytest.mark.parametrize("name", sorted(FINGERPRINTS))
def test_strategy_fingerprints_are_pinned(name: str) -> None:
    assert load_spec(name).fingerprint == FINGERPRINTS[name]
