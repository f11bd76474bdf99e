"""``StorageOptions``: timeouts, retries, the local cache and the read-ahead of object reads.

Credentials are never options: they come from the standard environment of each client
(``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``/``AWS_SESSION_TOKEN``/``AWS_PROFILE`` and
``~/.aws`` for S3, ``GOOGLE_APPLICATION_CREDENTIALS`` for GCS), so no spec, state or log holds
them. ``fs_options`` reaches the fsspec filesystem as it is (an escape hatch: a region, a
requester-pays flag); it is left out of the model's ``repr``.
"""

from __future__ import annotations

import os
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from ..._model import Float, FrozenModel, Int


def _folder(value: Any) -> Any:
    """A ``Path`` as its string (the model keeps plain values)."""
    return os.fspath(value) if isinstance(value, os.PathLike) else value


class StorageOptions(FrozenModel):
    """How objects are read; the defaults suit a cloud bucket from a training machine."""

    #: One request's limit: connecting, and waiting for each part of a response.
    timeout_s: Float = Field(default=30.0, gt=0)
    #: One read's limit over every attempt and backoff; past it a :class:`StorageError`.
    deadline_s: Float = Field(default=120.0, gt=0)
    #: Attempts after the first for a transient failure (a timeout, a 5xx, a cut connection).
    retries: Int = Field(default=5, ge=0)
    #: The first backoff; each retry doubles it up to ``backoff_max_s``, with full jitter.
    backoff_s: Float = Field(default=0.25, ge=0)
    backoff_max_s: Float = Field(default=8.0, ge=0)
    #: A folder for the local cache of objects and ranges (``None``: no cache).
    cache_dir: Annotated[str | None, BeforeValidator(_folder)] = None
    #: The cache's size limit: the least recently used entries go past it (10 GiB).
    cache_bytes: Int = Field(default=10 << 30, ge=1)
    #: Bytes read ahead in the loader's order and not yet taken (0: no read-ahead).
    read_ahead_bytes: Int = Field(default=64 << 20, ge=0)
    #: Requests in flight at once for the read-ahead.
    read_ahead_requests: Int = Field(default=16, ge=1, le=256)
    #: An S3-compatible endpoint (MinIO, a local server); ``None``: the client's own choice
    #: (``AWS_ENDPOINT_URL`` / ``AWS_ENDPOINT_URL_S3``, else AWS).
    endpoint_url: str | None = None
    #: Passed to the fsspec filesystem as it is (never shown: it may hold a secret).
    fs_options: dict[str, Any] = Field(default_factory=dict, repr=False)


__all__ = ["StorageOptions"]
