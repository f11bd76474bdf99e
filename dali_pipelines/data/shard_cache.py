"""JSON caches kept per tar shard (its member index, its audio durations), one rule for all.

A cache lives next to its shard (``<shard>.<kind>.json``) or in an ``index_dir``, and holds the
stamp it was computed under: the cache's format version, the shard's size and mtime. A cache
whose stamp differs from the shard's (the shard rewritten, a newer format) is ignored and
computed again; one that cannot be written (a read-only folder) is computed again next time.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: The index's format (``webdataset``); a durations cache holds it too, as its samples follow
#: the index's order.
INDEX_VERSION = 1


def cache_file(path: str, index_dir: str | None, kind: str) -> str:
    """Where a shard's ``kind`` cache lives: next to it, or in ``index_dir`` (named by a digest
    of its real path, so shards of one name in several folders do not collide)."""
    if index_dir is None:
        return f"{path}.{kind}.json"
    digest = hashlib.sha256(os.path.realpath(path).encode()).hexdigest()[:16]
    return os.path.join(index_dir, f"{Path(path).name}.{digest}.{kind}.json")


def shard_stamp(path: str, version: int) -> dict[str, int]:
    """What a cache of format ``version`` must match: the version, the shard's size and mtime."""
    stat = os.stat(path)
    return {"version": version, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def read_cache(cache: str, stamp: dict[str, Any]) -> dict[str, Any] | None:
    """The cache's JSON object when its stamp matches ``stamp``; ``None`` when it is missing,
    stale or unreadable (the caller validates the rest)."""
    try:
        with open(cache, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError, RecursionError):  # ValueError: invalid JSON or UTF-8
        return None
    if isinstance(data, dict) and all(data.get(k) == v for k, v in stamp.items()):
        return data
    return None


def write_cache(cache: str, payload: dict[str, Any]) -> None:
    """Write ``payload`` to ``cache`` atomically (ranks computing one shard do not collide);
    a folder that cannot be written is left alone."""
    temporary = f"{cache}.{os.getpid()}.tmp"
    try:
        os.makedirs(os.path.dirname(cache) or ".", exist_ok=True)
        with open(temporary, "w", encoding="utf-8") as handle:
            json.dump(payload, handle)
        os.replace(temporary, cache)
    except OSError:
        with contextlib.suppress(OSError):
            os.remove(temporary)
