"""Paths named inside a data file (a manifest, COCO annotations) must stay under its folder.

A data file from elsewhere must not make the loader read other files: ``..`` parts, absolute
paths and symlinks that resolve outside the root are refused, naming where the path came from.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import DatasetError
from .read import DEFAULT_MAX_FILE_BYTES, read_regular

_DRIVE = re.compile(r"^[A-Za-z]:")


def safe_path(root: str, value: Any, where: str, what: str, check_file: bool = True) -> str:
    """The real path of ``value`` under ``root`` (already a real path), or :class:`DatasetError`.

    ``where`` names the row or record; ``what`` names the root in messages.
    """
    if not isinstance(value, str):
        raise DatasetError(f"{where}: expected a relative path, got {type(value).__name__}")
    if "\0" in value:
        raise DatasetError(f"{where}: expected a path without NUL bytes, got {value!r}")
    if os.path.isabs(value) or value.startswith("\\") or _DRIVE.match(value):
        raise DatasetError(f"{where}: expected a path relative to {what}, got {value!r}")
    if ".." in re.split(r"[/\\]", value):
        raise DatasetError(f"{where}: expected a path inside {what}, got {value!r} ('..')")
    full = os.path.realpath(os.path.join(root, value))
    if os.path.commonpath([full, root]) != root:
        raise DatasetError(
            f"{where}: expected a path inside {what}, got {value!r} (a link to {full})"
        )
    if check_file and not os.path.isfile(full):
        raise DatasetError(f"{where}: expected an existing file, got {value!r}")
    return full


def read_file(
    files: Sequence[str], index: int, max_bytes: int | None = DEFAULT_MAX_FILE_BYTES
) -> np.ndarray:
    """Bytes of ``files[index]`` (a path checked by :func:`safe_path`): a regular file of at
    most ``max_bytes`` (see :mod:`.read`)."""
    # O_NOFOLLOW: a file swapped for a symlink after the check is refused, not followed out.
    return read_regular(files[index], max_bytes, follow_symlinks=False)
