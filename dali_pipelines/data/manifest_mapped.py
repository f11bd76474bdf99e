"""A manifest's bound columns, written once and memory-mapped by every later bind.

Binding a large manifest parses its cells and checks every path (2 s and ~150 MiB kept per
process for 10^6 CSV rows), and every rank of a job does it again. With
``Manifest(path, bind_cache=DIR)`` the first bind writes what it produced (the checked paths,
the label indices, the feature matrices) as ``.npy`` arrays under ``DIR``; a later bind of the
same manifest content, folder and spec columns maps them read-only instead: the ranks of a node
share one copy in the page cache, and none of them parses or checks again. A file lock makes
the ranks that start together wait for the first one's bind rather than repeat it.

The cache is keyed by the manifest's content digest, its folder's real path, ``check_files``
and the columns and label rules the spec binds, plus :data:`MAPPED_VERSION`; another key is
another entry. What it trusts: the path checks of the bind that wrote it (each path stayed
under the folder and was a regular file then). A file deleted or replaced since is still
refused when it is read (reads open without following links), as a sample error
(``on_error``) instead of a bind error.

Paths are stored as a folder table plus, per row, a folder id (int32) and the file name's
UTF-8 bytes with end offsets: about 12 bytes a row plus the name.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np

from ..errors import DatasetError

#: The entry format; a change makes earlier entries unused (never misread).
MAPPED_VERSION = 1


@dataclass(frozen=True)
class BoundColumns:
    """What binding a manifest produces apart from the readers built on it."""

    #: Per image column, the checked path of every row.
    files: list[Sequence[str]]
    #: Per label output, the class index of every row (int64).
    labels: list[np.ndarray]
    #: The first label output's class count (``None``: indices given as numbers).
    num_classes: int | None
    #: Per feature output, a ``rows x columns`` float matrix.
    features: list[np.ndarray]


class MappedPaths(Sequence[str]):
    """Paths by row from mapped arrays: ``folders[ids[row]]`` + the row's name bytes."""

    def __init__(self, folders: list[str], ids: np.ndarray, names: np.ndarray, ends: np.ndarray):
        if not (len(ids) == len(ends) and (not len(ends) or int(ends[-1]) == len(names))):
            raise DatasetError("bind cache: expected consistent path arrays, got mismatched ones")
        self._folders, self._ids, self._names, self._ends = folders, ids, names, ends

    def __len__(self) -> int:
        return len(self._ids)

    @overload
    def __getitem__(self, index: int) -> str: ...
    @overload
    def __getitem__(self, index: slice) -> list[str]: ...
    def __getitem__(self, index: int | slice) -> str | list[str]:
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        row = range(len(self._ids))[index]
        start = int(self._ends[row - 1]) if row else 0
        name = self._names[start : int(self._ends[row])].tobytes().decode("utf-8")
        return self._folders[int(self._ids[row])] + name

    def __iter__(self) -> Iterator[str]:
        return (self[i] for i in range(len(self)))


def _split_paths(paths: Sequence[str]) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    """Folders, folder id per row, the names' UTF-8 bytes and their end offsets."""
    folders: dict[str, int] = {}
    ids = np.empty(len(paths), dtype=np.int32)
    encoded = []
    for row, path in enumerate(paths):
        head, _, name = path.rpartition("/")
        ids[row] = folders.setdefault(head + "/", len(folders))
        encoded.append(name.encode("utf-8"))
    ends = np.cumsum(np.fromiter(map(len, encoded), np.int64, len(encoded)), dtype=np.int64)
    names = np.frombuffer(b"".join(encoded), dtype=np.uint8)
    return list(folders), ids, names, ends


class BindCache:
    """Entries of bound manifest columns under ``folder`` (created when missing)."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DatasetError(
                f"Manifest.bind_cache: expected a folder that can be created, got "
                f"{str(folder)!r} ({exc.strerror})"
            ) from None

    @staticmethod
    def key(parts: list[Any]) -> str:
        """The entry's name: a digest of what fixes the bound columns."""
        text = json.dumps([MAPPED_VERSION, *parts], default=repr, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

    def bind(self, key: str, compute: Callable[[], BoundColumns]) -> BoundColumns:
        """The entry ``key`` mapped, computed and written first when there is none yet."""
        entry = self.folder / key
        found = self._load(entry)
        if found is not None:
            return found
        with self._locked(key):  # ranks starting together: one binds, the others map
            found = self._load(entry)
            if found is not None:
                return found
            bound = compute()
            self._write(entry, bound)
        return bound

    @contextlib.contextmanager
    def _locked(self, key: str) -> Iterator[None]:
        with open(self.folder / f"{key}.lock", "a+b") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _write(self, entry: Path, bound: BoundColumns) -> None:
        staging = entry.with_name(f"{entry.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir()
        meta: dict[str, Any] = {"version": MAPPED_VERSION, "num_classes": bound.num_classes}
        meta["folders"] = []
        for i, files in enumerate(bound.files):
            folders, ids, names, ends = _split_paths(files)
            meta["folders"].append(folders)
            for name, array in (("ids", ids), ("names", names), ("ends", ends)):
                np.save(staging / f"files{i}-{name}.npy", array)
        for i, values in enumerate(bound.labels):
            np.save(staging / f"labels{i}.npy", np.ascontiguousarray(values))
        for i, matrix in enumerate(bound.features):
            np.save(staging / f"features{i}.npy", np.ascontiguousarray(matrix))
        meta["counts"] = [len(bound.files), len(bound.labels), len(bound.features)]
        (staging / "meta.json").write_text(json.dumps(meta))  # last: marks a whole entry
        shutil.rmtree(entry, ignore_errors=True)  # a damaged or older entry, under the lock
        try:
            os.rename(staging, entry)
        except OSError:  # another process wrote it first (no lock shared): keep theirs
            shutil.rmtree(staging, ignore_errors=True)

    def _load(self, entry: Path) -> BoundColumns | None:
        """The entry mapped; ``None`` when it is missing, of another version or damaged."""
        try:
            return self._map(entry)
        except (OSError, ValueError, KeyError, TypeError, DatasetError):
            return None

    def _map(self, entry: Path) -> BoundColumns | None:
        meta = json.loads((entry / "meta.json").read_text())
        if meta.get("version") != MAPPED_VERSION:
            return None
        count_files, count_labels, count_features = meta["counts"]

        def mapped(name: str) -> np.ndarray:
            return np.load(entry / f"{name}.npy", mmap_mode="r", allow_pickle=False)

        files: list[Sequence[str]] = [
            MappedPaths(
                meta["folders"][i],
                mapped(f"files{i}-ids"),
                mapped(f"files{i}-names"),
                mapped(f"files{i}-ends"),
            )
            for i in range(count_files)
        ]
        labels = [mapped(f"labels{i}") for i in range(count_labels)]
        features = [mapped(f"features{i}") for i in range(count_features)]
        return BoundColumns(files, labels, meta["num_classes"], features)
