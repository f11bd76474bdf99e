"""Object storage for data sources: ``s3://``, ``gs://``, ``http(s)://`` (and ``file://``) URLs.

:class:`Manifest`, :class:`WebDataset` and :class:`Prepared` take a URL where they take a
path; their reads go through an :class:`ObjectStore` (fsspec underneath, imported on first use)
with the :class:`StorageOptions` given as ``storage=``: retries with backoff under a timeout and
a deadline ending in a :class:`~dali_pipelines.errors.StorageError` naming the object, ranged
reads of indexed tars, read-ahead in the loader's order bounded by bytes, and a local cache with
a size limit. See docs/storage.md.
"""

from __future__ import annotations

from .cache import DiskCache
from .options import StorageOptions
from .readahead import Read, ReadAhead
from .store import ObjectInfo, ObjectStore
from .urls import ObjectUrl, is_remote, is_url, local_path, redact

__all__ = [
    "DiskCache",
    "ObjectInfo",
    "ObjectStore",
    "ObjectUrl",
    "Read",
    "ReadAhead",
    "StorageOptions",
    "is_remote",
    "is_url",
    "local_path",
    "redact",
]
