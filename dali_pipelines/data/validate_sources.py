"""What ``validate`` checks: an ImageFolder, a list of image paths, or a manifest's image columns.

``DATA`` may be a folder (an ImageFolder root), a CSV or JSONL manifest (``.csv``, ``.jsonl``,
``.ndjson``: the files of its image columns, as the loader's ``Manifest`` reads them) or a UTF-8
text file of paths, one a line. Anything else (an image, a binary file) is refused with
:class:`NotADatasetError` before any file is checked. Every file is read with
:func:`~.read.read_regular`, so special and oversized files get a verdict instead of hanging or
exhausting the run.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DatasetError
from .checks import WEAK_SIGNATURES, sniff
from .paths import safe_path
from .read import DEFAULT_MAX_FILE_BYTES, check_limit, read_regular
from .source import SampleSource
from .validate_audio import Modality, detect_modality, folder_files

#: Manifests read as tables (their image columns); any other file is a list of paths.
TABLE_SUFFIXES = (".csv", ".jsonl", ".ndjson")


class NotADatasetError(DatasetError):
    """``validate`` given a file that is neither a manifest nor a list of paths (a usage error)."""


class PathList:
    """A :class:`SampleSource` over a list of files (a manifest: one path a line).

    Files are read with :func:`~.read.read_regular`: at most ``max_file_bytes`` each (default
    256 MiB; ``None``: no bound), regular files only.
    """

    def __init__(
        self,
        paths: Sequence[str | os.PathLike[str]],
        root: str | None = None,
        *,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    ):
        self.paths = [os.fspath(p) for p in paths]
        self.root = Path(root) if root is not None else None
        self.max_file_bytes = check_limit(max_file_bytes, "PathList.max_file_bytes")

    @classmethod
    def from_manifest(
        cls,
        manifest: str | os.PathLike[str],
        *,
        max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    ) -> PathList:
        """Read one path per line (relative ones from the manifest's folder; '#' comments)."""
        path = Path(manifest)
        folder = path.parent
        lines = _text(path, max_file_bytes).splitlines()
        paths = []
        for number, line in enumerate(lines, 1):
            if not line.strip() or line[:1] == "#":
                continue
            if "\0" in line:
                raise DatasetError(
                    f"{path} line {number}: expected a path without NUL bytes, got {line!r}"
                )
            paths.append(folder / line.strip())
        if not paths:
            raise DatasetError(f"manifest {path}: expected one image path per line, got none")
        return cls(paths, root=str(folder), max_file_bytes=max_file_bytes)

    def __len__(self) -> int:
        return len(self.paths)

    def read_bytes(self, index: int) -> np.ndarray:
        return read_regular(self.paths[index], self.max_file_bytes)

    def label(self, index: int) -> int:
        return 0

    def path(self, index: int) -> str:
        return self.paths[index]

    def fingerprint(self) -> str:
        return hashlib.sha256("\n".join(self.paths).encode()).hexdigest()[:16]


def _text(path: Path, max_file_bytes: int | None) -> str:
    """A list manifest's text; :class:`NotADatasetError` for an image or a binary file."""
    data = read_regular(path, max_file_bytes).tobytes()
    fmt = sniff(data)
    if _is_image_name(path.name) or fmt not in (None, *WEAK_SIGNATURES):
        got = f"an image file ({fmt or path.suffix}): validate its folder, or a list naming it"
    else:
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            got = f"a binary file (not UTF-8 at byte {exc.start})"
    raise NotADatasetError(
        f"{path}: expected an ImageFolder directory or a manifest (a .csv or .jsonl table, or "
        f"a UTF-8 text file of image paths), got {got}"
    )


def _is_image_name(value: Any) -> bool:
    from .folder import IMG_EXTENSIONS

    return isinstance(value, str) and value.strip().lower().endswith(IMG_EXTENSIONS)


def image_columns(columns: Sequence[str], rows: Sequence[dict[str, Any]]) -> list[str]:
    """The columns whose every non-empty cell is an image file name (at least one cell)."""
    found = []
    for column in columns:
        cells = [row.get(column) for row in rows]
        present = [cell for cell in cells if cell not in (None, "")]
        if present and all(_is_image_name(cell) for cell in present):
            found.append(column)
    return found


def table_source(
    path: str | os.PathLike[str],
    columns: Sequence[str] | None = None,
    *,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
) -> PathList:
    """The files of a CSV/JSONL manifest's image ``columns`` (default: :func:`image_columns`),
    each once, resolved and checked as the loader's ``Manifest`` does (inside its folder)."""
    from .manifest import Manifest
    from .storage.urls import is_remote, redact

    if is_remote(os.fspath(path)):  # validate reads files; object storage: docs/storage.md
        raise DatasetError(f"validate: expected a local manifest, got {redact(os.fspath(path))}")
    manifest = Manifest(path, check_files=False)
    name = manifest.file.name
    chosen = list(columns) if columns else image_columns(manifest.columns, manifest.rows)
    missing = [column for column in chosen if column not in manifest.columns]
    if missing or not chosen:
        got = f"no column {missing}" if missing else "none whose cells are all image file names"
        raise DatasetError(
            f"{name}: expected image columns (--columns, or columns of image file names), got "
            f"{got}; columns: {list(manifest.columns)}"
        )
    files: dict[str, None] = {}
    for row, values in enumerate(manifest.rows, 1):
        for column in chosen:
            where = f"{name} row {row}, column {column!r}"
            value = values.get(column)
            if value is None or (isinstance(value, str) and not value.strip()):
                raise DatasetError(f"{where}: expected a value, got an empty cell")
            files[safe_path(manifest.root, value, where, "the manifest's folder", False)] = None
    return PathList(list(files), root=manifest.root, max_file_bytes=max_file_bytes)


def as_source(
    source: SampleSource | str | os.PathLike[str],
    *,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    columns: Sequence[str] | None = None,
    modality: Modality = "auto",
) -> SampleSource:
    """A folder is an ImageFolder (or, holding audio files or with ``modality="audio"``, the
    files of an AudioFolder; holding ``prepared.json``, the :class:`~.prepared.Prepared` data's
    first image column), a ``.csv``/``.jsonl`` file a manifest's ``columns``, another file a
    list of paths; a SampleSource is used as it is (with its own bounds)."""
    if not isinstance(source, (str, os.PathLike)):
        return source
    from .folder import ImageFolder
    from .prepared import Prepared, is_prepared

    if not columns and modality != "audio" and is_prepared(source):
        return Prepared(source, max_file_bytes=max_file_bytes)

    path = Path(source)
    if columns and not (path.is_file() and path.suffix.lower() in TABLE_SUFFIXES):
        raise NotADatasetError(f"columns: expected a .csv or .jsonl manifest, got {str(path)!r}")
    if path.is_file():
        if path.suffix.lower() in TABLE_SUFFIXES:
            return table_source(path, columns, max_file_bytes=max_file_bytes)
        return PathList.from_manifest(path, max_file_bytes=max_file_bytes)
    if modality == "auto" and path.is_dir():
        modality = detect_modality(folder_files(path))
    if modality == "audio":
        return audio_files(path, max_file_bytes=max_file_bytes)
    return ImageFolder(path, max_file_bytes=max_file_bytes)


def audio_files(
    root: str | os.PathLike[str], *, max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES
) -> PathList:
    """The files of the AudioFolder at ``root`` (its errors for a missing root or an empty
    class), as a list: validate checks files, not windows, and reads no header up front."""
    from .audio_probe import AUDIO_EXTENSIONS
    from .folder import find_class_samples

    folder = Path(root).expanduser()
    _, samples = find_class_samples(folder, AUDIO_EXTENSIONS, False, "AudioFolder")
    return PathList([path for path, _ in samples], str(folder), max_file_bytes=max_file_bytes)


__all__ = [
    "NotADatasetError",
    "PathList",
    "as_source",
    "audio_files",
    "image_columns",
    "table_source",
]
