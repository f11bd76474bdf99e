"""The cache of ``validate``: one SQLite file of per-file verdicts, keyed by path, size and mtime.

A re-run checks only the files that are new or changed since (a different size or mtime), so
validating a dataset again after adding a few files takes seconds. SQLite rather than JSON: an
ImageNet-sized dataset has 1.3 M rows, and SQLite writes them incrementally (an interrupted run
keeps what it checked) and lets two runs share the file safely.

Verdicts depend on the settings (quick or deep, decoders, max_pixels, the checks' version), so
rows are stored per settings key; a run reads only rows written with the same key.
"""

from __future__ import annotations

import json
import os
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = 1
_COMMIT_EVERY = 2000  # rows: an interrupt loses at most this much work


class ResultCache:
    """``lookup`` a file's verdict by (path, size, mtime); ``store`` new ones; ``close`` commits."""

    def __init__(self, path: str | os.PathLike[str], settings: str):
        self.path = Path(path)
        self.settings = settings
        # Opening can fail (read-only dataset folder); the caller decides what to do then.
        self._db = sqlite3.connect(self.path, timeout=30)
        self._db.execute("CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)")
        row = self._db.execute("SELECT value FROM meta WHERE key = 'schema'").fetchone()
        if row is None or row[0] != str(SCHEMA):
            self._db.execute("DROP TABLE IF EXISTS results")
            self._db.execute("INSERT OR REPLACE INTO meta VALUES ('schema', ?)", (str(SCHEMA),))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS results (path TEXT, settings TEXT, size INTEGER, "
            "mtime_ns INTEGER, result TEXT, PRIMARY KEY (path, settings))"
        )
        self._db.commit()
        self._rows: dict[str, tuple[int, int, str]] | None = None
        self._pending: list[tuple[str, str, int, int, str]] = []

    def _load(self) -> dict[str, tuple[int, int, str]]:
        # One query for all rows of these settings: per-file queries cost ~10x more.
        if self._rows is None:
            cursor = self._db.execute(
                "SELECT path, size, mtime_ns, result FROM results WHERE settings = ?",
                (self.settings,),
            )
            self._rows = {path: (size, mtime, result) for path, size, mtime, result in cursor}
        return self._rows

    def __len__(self) -> int:
        return len(self._load())

    def lookup(self, path: str, size: int, mtime_ns: int) -> dict[str, Any] | None:
        """The stored verdict when the file has the same size and mtime as when it was checked."""
        row = self._load().get(path)
        if row is None or row[0] != size or row[1] != mtime_ns:
            return None
        value = json.loads(row[2])
        return value if isinstance(value, dict) else None

    def store(self, path: str, size: int, mtime_ns: int, result: dict[str, Any]) -> None:
        self._pending.append((path, self.settings, size, mtime_ns, json.dumps(result)))
        if len(self._pending) >= _COMMIT_EVERY:
            self.flush()

    def flush(self) -> None:
        if self._pending:
            self._db.executemany(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?)", self._pending
            )
            self._db.commit()
            self._pending.clear()

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self._db.close()

    def __enter__(self) -> ResultCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
