"""Preparation: write a dataset once as bounded-size images in WebDataset tar shards.

The public entry is :func:`dali_pipelines.prepare` (:func:`.run.prepare`), and the command
``dali-pipelines prepare SRC OUT``; :class:`dali_pipelines.Prepared` reads the output.
"""

from __future__ import annotations

from ..data.prepared_format import Options, PreparedManifest
from .run import prepare

__all__ = ["Options", "PreparedManifest", "prepare"]
