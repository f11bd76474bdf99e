"""``prepare``: write a dataset once as bounded-size images in WebDataset tar shards.

``dali_pipelines.prepare`` is both this package and its function: importing a submodule makes
Python set the package as the attribute of ``dali_pipelines``, so the package is callable and
calls :func:`.run.prepare` (``dali_pipelines.prepare(src, out, max_side=512)`` works whichever
was loaded first).
"""

from __future__ import annotations

import sys
import types
from typing import Any

from ..data.prepared_format import Options, PreparedManifest
from .run import prepare

__all__ = ["Options", "PreparedManifest", "prepare"]


class _CallablePackage(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> PreparedManifest:
        return prepare(*args, **kwargs)


sys.modules[__name__].__class__ = _CallablePackage
