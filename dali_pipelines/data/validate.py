"""Validate a dataset before training: which files are bad, and why.

:func:`validate` checks every sample of an :class:`ImageFolder` (or of anything implementing
:class:`SampleSource`) in parallel and returns a :class:`ValidationReport`. Quick mode reads
headers (signature, JPEG markers, PNG chunks, size); ``deep=True`` also decodes every file with
PIL and then with DALI's CPU decoder, which catches files one decoder reads and the other does
not. A :class:`~.validate_cache.ResultCache` makes re-runs check only new or changed files.
``dali-pipelines validate`` is the command-line face of this module.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .checks import DEFAULT_MAX_PIXELS, REASONS
from .read import DEFAULT_MAX_FILE_BYTES
from .source import SampleSource
from .validate_sources import NotADatasetError, PathList, as_source
from .validate_stages import FileResult, Stages, mute_pil_warnings, set_worker_source

#: Bump when a check changes its verdicts: cached rows of older versions are then ignored.
CHECKS_VERSION = 2
#: The version of the JSON report's layout.
SCHEMA_VERSION = 1
#: The default cache file, in the dataset's root (ImageFolder lists sub-folders only).
CACHE_NAME = ".dali-pipelines-validate.sqlite"

#: Threads by default: the per-file work is file reads and PIL/DALI decoding, which release the
#: GIL (Pillow's decoders run inside ImagingSectionEnter); the Python around them is ~10% of a
#: deep check. Processes cost ~0.3 s to start (each imports numpy, PIL and this package) and
#: measured slower here (2,000 files, deep, 2 workers: 2.4 s threads, 4.3 s processes).
ExecutorKind = Literal["thread", "process"]


@dataclass
class ValidationReport:
    """Every file's verdict plus what was checked and how; ``bad`` lists the bad files."""

    root: str
    deep: bool
    decoders: tuple[str, ...]
    max_pixels: int | None
    files: list[FileResult]
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES
    seconds: float = 0.0
    cache: str | None = None
    workers: int = 1
    executor: ExecutorKind = "thread"
    notes: list[str] = field(default_factory=list)

    @property
    def bad(self) -> list[FileResult]:
        return [result for result in self.files if not result.ok]

    @property
    def ok(self) -> bool:
        return all(result.ok for result in self.files)

    def counts(self) -> dict[str, Any]:
        reasons: dict[str, int] = dict.fromkeys(REASONS, 0)  # in REASONS' order
        for result in self.bad:
            key = result.reason or "unknown"
            reasons[key] = reasons.get(key, 0) + 1
        return {
            "files": len(self.files),
            "ok": sum(result.ok for result in self.files),
            "bad": len(self.bad),
            "cached": sum(result.cached for result in self.files),
            "reasons": {reason: count for reason, count in reasons.items() if count},
        }

    def to_json(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "root": self.root,
            "mode": "deep" if self.deep else "quick",
            "decoders": list(self.decoders),
            "max_pixels": self.max_pixels,
            "max_file_bytes": self.max_file_bytes,
            "workers": self.workers,
            "executor": self.executor,
            "seconds": round(self.seconds, 3),
            "cache": self.cache,
            "notes": self.notes,
            "counts": self.counts(),
            "files": [result.to_json() for result in self.files],
        }

    def write_json(self, path: str | os.PathLike[str]) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_json(), indent=2) + "\n", encoding="utf-8")
        return out


# -- the run ------------------------------------------------------------------------------------


def resolve_decoders(deep: bool, decoders: Iterable[str] | None) -> tuple[str, ...]:
    """The decoders of a deep run: ``decoders`` as given, or PIL plus DALI when DALI imports."""
    if not deep:
        return ()
    if decoders is None:
        from ..availability import dali_available

        return ("pil", "dali") if dali_available() else ("pil",)
    chosen = tuple(dict.fromkeys(decoders))
    unknown = [name for name in chosen if name not in ("pil", "dali")]
    if unknown or not chosen:
        raise ValueError(f"decoders: expected 'pil' and/or 'dali', got {list(decoders)}")
    return chosen


def settings_key(
    deep: bool,
    decoders: Sequence[str],
    max_pixels: int | None,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
) -> str:
    mode = "deep:" + "+".join(decoders) if deep else "quick"
    return f"v{CHECKS_VERSION}|{mode}|max_pixels={max_pixels}|max_file_bytes={max_file_bytes}"


def _make_executor(kind: ExecutorKind, workers: int, source: SampleSource, quiet: bool) -> Executor:
    if kind != "process":
        return ThreadPoolExecutor(max_workers=workers, thread_name_prefix="validate")
    import multiprocessing

    # forkserver: a fresh process, not a fork of one that may run DALI's or torch's threads.
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return ProcessPoolExecutor(
        max_workers=workers,
        mp_context=multiprocessing.get_context(method),
        initializer=set_worker_source,
        initargs=(source, quiet),
    )


def validate(
    source: SampleSource | str | os.PathLike[str],
    *,
    deep: bool = False,
    decoders: Iterable[str] | None = None,
    workers: int | None = None,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
    max_file_bytes: int | None = DEFAULT_MAX_FILE_BYTES,
    columns: Sequence[str] | None = None,
    cache: str | os.PathLike[str] | None = None,
    executor: ExecutorKind = "thread",
    on_progress: Callable[[int], None] | None = None,
    quiet: bool = False,
) -> ValidationReport:
    """Check every sample of ``source``; see the module docstring for what is checked.

    ``workers`` threads (or processes: ``executor``, see :data:`ExecutorKind`) check files in
    parallel (default: one per CPU).
    ``max_pixels`` (default PIL's decompression-bomb limit; ``None``: no limit, for PIL too)
    makes larger images bad before anything decodes them; ``max_file_bytes`` (default 256 MiB;
    ``None``: none) larger files before they are read (special files are always bad); a
    :class:`SampleSource` reads with its own bound. ``columns``: see :func:`as_source`.
    ``cache`` is a SQLite file of earlier verdicts
    (created when missing). ``on_progress(n)`` is called as ``n`` more files are done.
    ``quiet`` silences what DALI's native code prints while it decodes, by redirecting file
    descriptor 2 of the whole process, and PIL's warnings (a command-line tool can; a library
    caller may not want to).
    """
    src = as_source(source, max_file_bytes=max_file_bytes, columns=columns)
    chosen = resolve_decoders(deep, decoders)
    threads = workers or os.cpu_count() or 1
    root = getattr(src, "root", None)
    report = ValidationReport(
        root=str(root) if root is not None else repr(src),
        deep=deep,
        decoders=chosen,
        max_pixels=max_pixels,
        files=[],
        max_file_bytes=max_file_bytes,
        cache=os.fspath(cache) if cache is not None else None,
        workers=threads,
        executor=executor,
    )
    start = time.perf_counter()
    if quiet:
        mute_pil_warnings()
    stages = Stages(src, deep, chosen, max_pixels, threads, on_progress, quiet)
    if cache is not None:
        settings = settings_key(deep, chosen, max_pixels, max_file_bytes)
        stages.open_cache(Path(cache), settings)
    try:
        todo = stages.from_cache()
        if todo:
            with _make_executor(executor, threads, src, quiet) as pool:
                stages.run(pool, todo, pass_source=executor == "thread")
    finally:
        stages.close()
    report.files = stages.results()
    report.notes = stages.notes
    report.seconds = time.perf_counter() - start
    return report


__all__ = [
    "CACHE_NAME",
    "SCHEMA_VERSION",
    "FileResult",
    "NotADatasetError",
    "PathList",
    "ValidationReport",
    "as_source",
    "validate",
]
