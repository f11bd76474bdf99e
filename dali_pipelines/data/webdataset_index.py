"""A local tar shard's index: each sample's members and their data extents, cached per shard.

Indexing walks the tar's headers once (member name, data offset, size); every extent is checked
to lie inside the file, and the index is cached next to the shard (or in an ``index_dir``)
under the shard's size and mtime (:mod:`.shard_cache`).
"""

from __future__ import annotations

import os
import tarfile
from dataclasses import dataclass
from typing import Any

from ..errors import DatasetError
from .shard_cache import INDEX_VERSION, cache_file, read_cache, shard_stamp, write_cache


@dataclass(frozen=True)
class Shard:
    path: str
    #: Per sample: its key and {extension: (data offset, size)}.
    samples: list[tuple[str, dict[str, tuple[int, int]]]]


def split_member(name: str) -> tuple[str, str] | None:
    """A member name's (sample key, extension): ``dir/key.ext`` -> ``("dir/key", "ext")``."""
    folder, _, base = name.rpartition("/")
    if "." not in base or base.startswith("."):
        return None  # no extension: not part of any sample (WebDataset skips these too)
    stem, _, ext = base.partition(".")
    return (f"{folder}/{stem}" if folder else stem), ext


def _scan(path: str) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    samples: dict[str, dict[str, tuple[int, int]]] = {}
    size = os.stat(path).st_size
    try:
        with tarfile.open(path, "r:") as tar:  # uncompressed only: members must be seekable
            for member in tar:
                if not member.isfile():
                    continue
                parts = split_member(member.name)
                if parts is None:
                    continue
                _check_extent(path, member.name, member.offset_data, member.size, size)
                key, ext = parts
                samples.setdefault(key, {})[ext] = (member.offset_data, member.size)
    except (tarfile.TarError, OSError) as exc:
        raise DatasetError(f"{path}: expected an uncompressed tar file, got {exc}") from exc
    return list(samples.items())


def _check_extent(path: str, name: str, offset: int, length: int, size: int) -> None:
    """A member's data must lie inside the shard: a header claiming more (a truncated or
    forged tar) would make a read allocate what the header says."""
    if offset < 0 or length < 0 or offset + length > size:
        raise DatasetError(
            f"{path}: expected member {name!r} inside the file ({size} bytes), got {length} "
            f"bytes at offset {offset} (a truncated or damaged tar)"
        )


def cached_samples(data: dict[str, Any], size: int) -> list[tuple[str, dict[str, tuple[int, int]]]]:
    """A cache file's ``samples`` checked against the shard's ``size``; ``ValueError`` when any
    entry is malformed or lies outside the shard (the caller indexes again)."""
    samples = []
    for key, members in data["samples"]:
        if not isinstance(key, str) or not isinstance(members, dict):
            raise ValueError("malformed cache entry")
        extents = {}
        for ext, (offset, length) in members.items():
            if type(offset) is not int or type(length) is not int:
                raise ValueError("malformed cache entry")
            if offset < 0 or length < 0 or offset + length > size:
                raise ValueError("cache entry outside the shard")
            extents[ext] = (offset, length)
        samples.append((key, extents))
    return samples


def load_index(path: str, index_dir: str | None = None) -> Shard:
    """The shard's index: from its cache file when the shard is unchanged, else built and cached."""
    stamp = shard_stamp(path, INDEX_VERSION)
    cache = cache_file(path, index_dir, "idx")
    data = read_cache(cache, stamp)
    if data is not None:
        try:
            return Shard(path, cached_samples(data, stamp["size"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # a broken cache: index again
    samples = _scan(path)
    write_cache(cache, {**stamp, "samples": [[key, exts] for key, exts in samples]})
    return Shard(path, samples)
