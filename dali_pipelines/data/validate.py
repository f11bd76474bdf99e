"""Validate a dataset before training: which files are bad, and why.

:func:`validate` checks every sample of an :class:`ImageFolder` (or of anything implementing
:class:`SampleSource`) in parallel and returns a :class:`ValidationReport`. Quick mode reads
headers (signature, JPEG markers, PNG chunks, size); ``deep=True`` also decodes every file with
PIL and then with DALI's CPU decoder, which catches files one decoder reads and the other does
not. A :class:`~.validate_cache.ResultCache` makes re-runs check only new or changed files.
Audio files (an :class:`~.audio_folder.AudioFolder`, or a folder or list of .wav/.flac/.ogg) get
their own checks (:mod:`.validate_audio`: header, rate/channel/duration bounds, a soundfile
decode when deep) in the same report. ``dali-pipelines validate`` is the command-line face of
this module.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from .audio_folder import AudioFolder
from .checks import DEFAULT_MAX_PIXELS, REASONS
from .read import DEFAULT_MAX_FILE_BYTES
from .source import SampleSource
from .validate_audio import AudioBounds, AudioCheck, Modality, detect_modality
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
    modality: Literal["image", "audio"] = "image"
    #: An audio run's bounds (rates, channels, duration); ``None`` for images.
    audio: AudioBounds | None = None

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
            "modality": self.modality,
            "audio_bounds": asdict(self.audio) if self.audio is not None else None,
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


def resolve_decoders(
    deep: bool, decoders: Iterable[str] | None, modality: str = "image"
) -> tuple[str, ...]:
    """The decoders of a deep run: ``decoders`` as given, or PIL plus DALI when DALI imports;
    soundfile for audio."""
    if modality == "audio":
        if decoders is not None:
            raise ValueError(f"decoders: expected None for audio (soundfile), got {decoders}")
        return ("soundfile",) if deep else ()
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
    audio: AudioBounds | None = None,
) -> str:
    mode = "deep:" + "+".join(decoders) if deep else "quick"
    if audio is not None:  # pixels do not matter to audio, its bounds do
        return f"v{CHECKS_VERSION}|audio|{mode}|{audio.key()}|max_file_bytes={max_file_bytes}"
    return f"v{CHECKS_VERSION}|{mode}|max_pixels={max_pixels}|max_file_bytes={max_file_bytes}"


def source_modality(src: SampleSource, modality: Modality) -> Literal["image", "audio"]:
    """What ``src`` holds: as told, an AudioFolder's files, or by a path list's extensions."""
    if modality != "auto":
        return modality
    if isinstance(src, AudioFolder):
        return "audio"
    return detect_modality(src.paths) if isinstance(src, PathList) else "image"


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


def _prepare(
    source: SampleSource | str | os.PathLike[str],
    max_file_bytes: int | None,
    columns: Sequence[str] | None,
    modality: Modality,
    audio: AudioBounds | None,
    deep: bool,
) -> tuple[SampleSource, Literal["image", "audio"], AudioCheck | None]:
    """The source to check, what it holds, and (audio) the per-file check."""
    src = as_source(source, max_file_bytes=max_file_bytes, columns=columns, modality=modality)
    kind = source_modality(src, modality)
    if kind == "image":
        if audio is not None:
            raise ValueError(f"audio: expected audio files with bounds {audio}, got images")
        return src, kind, None
    if isinstance(src, AudioFolder):  # every file once, not every window
        files = [path for path, _ in src.samples]
        src = PathList(files, str(src.root), max_file_bytes=src.max_file_bytes)
    limit = getattr(src, "max_file_bytes", max_file_bytes)
    return src, kind, AudioCheck(audio or AudioBounds(), deep, limit)


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
    modality: Modality = "auto",
    audio: AudioBounds | None = None,
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
    ``modality``: ``auto`` tells audio files by their extensions (an :class:`AudioFolder` is
    audio: its files are checked, not its windows); ``audio`` bounds their rate, channels and
    duration (:mod:`.validate_audio`; a deep check decodes with soundfile).
    """
    src, kind, check = _prepare(source, max_file_bytes, columns, modality, audio, deep)
    chosen = resolve_decoders(deep, decoders, kind)
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
        modality=kind,
        audio=check.bounds if check is not None else None,
    )
    start = time.perf_counter()
    if quiet:
        mute_pil_warnings()
    stages = Stages(src, deep, chosen, max_pixels, threads, on_progress, quiet, check)
    if cache is not None:
        settings = settings_key(deep, chosen, max_pixels, max_file_bytes, report.audio)
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
    "AudioBounds",
    "FileResult",
    "NotADatasetError",
    "PathList",
    "ValidationReport",
    "as_source",
    "source_modality",
    "validate",
]
