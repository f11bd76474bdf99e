"""A manifest read from object storage (``s3://bucket/train.csv``) and the objects it names.

A path cell is relative to the manifest's folder (``img/0.jpg`` -> ``s3://bucket/img/0.jpg``)
and may not leave it (no ``..``, no leading ``/``, no backslash), as a local manifest's; a cell
may also be an object URL of its own (``s3://other/x.jpg``, ``https://...``), but never a
``file://`` URL or a local path: a manifest from elsewhere cannot make the loader read this
machine's files. With ``check_files`` every object is checked to exist when the manifest is
bound: each folder the cells name is listed once (one paged listing, not a request per row;
HTTP, which cannot list, is asked per object), and the listing's sizes and ETags are kept, so a
read needs no request but its own GET: the size bound ``max_file_bytes`` is checked before
reading, and the cache knows the object's version. Without ``check_files``, a read first asks
for the object's size (one more request).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any, overload

import numpy as np

from ..errors import DatasetError, ObjectNotFoundError
from .read import too_large
from .storage.options import StorageOptions
from .storage.readahead import Read
from .storage.reads import SourceReads
from .storage.store import ObjectInfo
from .storage.urls import ObjectUrl, is_url, relative_key, scheme_of

WHAT = "the manifest's folder"


class ObjectColumn(Sequence[str]):
    """One path column's objects by row; items are their URLs as messages show them."""

    def __init__(self, urls: list[ObjectUrl], infos: list[ObjectInfo | None]):
        self.urls = urls
        self.infos = infos

    def __len__(self) -> int:
        return len(self.urls)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [str(url) for url in self.urls[index]]
        return str(self.urls[index])


class RemoteManifest:
    """The manifest object's bytes, its rows' objects, and their reads."""

    def __init__(self, url: ObjectUrl, storage: StorageOptions | None):
        self.url = url
        self.root = url.parent
        self.reads = SourceReads(storage)
        self.columns: list[ObjectColumn] = []
        self.max_file_bytes: int | None = None

    def raw(self, limit: int, what: str) -> bytes:
        """The manifest's bytes, at most ``limit`` (checked from its size before reading)."""
        store = self.reads.store
        try:
            info = store.info(self.url)
        except ObjectNotFoundError as exc:
            got = f"got {exc}"
            raise DatasetError(f"Manifest.path: expected a CSV or JSONL object, {got}") from None
        if info.size > limit:
            got = f"got {info.size}"
            raise DatasetError(f"{self.url}: expected at most {limit} bytes ({what}), {got}")
        return store.read(self.url, info=info)

    def resolve(
        self, cells: Sequence[Any], where: Callable[[int], str], check_files: bool
    ) -> ObjectColumn:
        """The objects of a path column; the first bad or missing one names its row."""
        urls = [self._url(cell, where, row) for row, cell in enumerate(cells)]
        infos: list[ObjectInfo | None] = [None] * len(urls)
        if check_files:
            known = self._known(urls)
            for row, url in enumerate(urls):
                infos[row] = known.get(url.url)
                if infos[row] is None:
                    got = f"got {cells[row]!r}"
                    raise DatasetError(f"{where(row)}: expected an existing object, {got}")
        column = ObjectColumn(urls, infos)
        self.columns.append(column)
        return column

    def _url(self, cell: Any, where: Callable[[int], str], row: int) -> ObjectUrl:
        if is_url(cell):
            if scheme_of(cell) == "file":
                raise DatasetError(
                    f"{where(row)}: expected a path relative to {WHAT} or a remote object URL, "
                    f"got a file:// URL"
                )
            try:
                return ObjectUrl(cell)
            except DatasetError as exc:
                raise DatasetError(f"{where(row)}: {exc}") from None
        return self.root.child(relative_key(cell, where(row), WHAT))

    def _known(self, urls: list[ObjectUrl]) -> dict[str, ObjectInfo]:
        """Size and ETag of every object that exists among ``urls``: a listing per folder,
        a request per object for HTTP."""
        store = self.reads.store
        distinct = list({url.url: url for url in urls}.values())
        if all(url.protocol in ("http", "https") for url in distinct):
            return self._heads(distinct)
        known = self._heads([url for url in distinct if url.protocol in ("http", "https")])
        folders: dict[str, ObjectUrl] = {}
        for url in distinct:
            if url.protocol not in ("http", "https"):
                folders.setdefault(url.parent.url, url.parent)
        for folder in folders.values():  # each folder the cells name, listed once
            known.update(store.listing(folder))
        return known

    def _heads(self, urls: list[ObjectUrl]) -> dict[str, ObjectInfo]:
        """One size request per object (HTTP has no listing), a few at once."""
        store = self.reads.store

        def head(url: ObjectUrl) -> ObjectInfo | None:
            try:
                return store.info(url)
            except ObjectNotFoundError:
                return None

        if not urls:
            return {}
        with ThreadPoolExecutor(min(len(urls), store.options.read_ahead_requests)) as pool:
            found = list(pool.map(head, urls))
        return {url.url: info for url, info in zip(urls, found) if info is not None}

    def _info(self, column: ObjectColumn, index: int) -> ObjectInfo:
        info = column.infos[index]
        return self.reads.store.info(column.urls[index]) if info is None else info

    def read(self, column: ObjectColumn, index: int) -> np.ndarray:
        """Row ``index``'s object, refused before reading when over ``max_file_bytes``."""
        info = self._info(column, index)
        if self.max_file_bytes is not None and info.size > self.max_file_bytes:
            raise too_large(str(info.url), info.size, self.max_file_bytes)
        return self.reads.read(Read(info.url, 0, info.size, info))

    def planned(self, index: int) -> list[Read]:
        """The reads of row ``index`` (objects whose size is known and within the bound)."""
        reads = []
        bound = self.max_file_bytes
        for column in self.columns:
            info = column.infos[index]
            if info is not None and (bound is None or info.size <= bound):
                reads.append(Read(info.url, 0, info.size, info))
        return reads


__all__ = ["ObjectColumn", "RemoteManifest"]
