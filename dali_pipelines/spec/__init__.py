"""Declarative pipeline specs: models, loading/dumping, and the strategy registry."""

from __future__ import annotations

from .io import dump_spec, load_spec
from .limits import SpecLimits
from .models import SCHEMA_VERSION, DecodeSpec, OutputSpec, PipelineSpec
from .strategies import get_strategy, register_strategy, registered_strategies

__all__ = [
    "SCHEMA_VERSION",
    "DecodeSpec",
    "OutputSpec",
    "PipelineSpec",
    "SpecLimits",
    "dump_spec",
    "get_strategy",
    "load_spec",
    "register_strategy",
    "registered_strategies",
]
