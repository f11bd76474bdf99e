"""Registers the test Python ops; frees DALI pipelines left in reference cycles per module."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

import tests.python_ops  # noqa: F401  (registers test_swap, test_noise, test_fail, test_corner)


@pytest.fixture(autouse=True, scope="module")
def _collect_pipelines() -> Iterator[None]:
    """Free what a failing test left in reference cycles here, in this process: a DALI pipeline
    collected later inside some test's forked worker would wait there for its threads."""
    yield
    gc.collect()
