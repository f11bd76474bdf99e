"""``prepare(source, out)``: a dataset written once as bounded-size images in tar shards.

Samples are prepared in a thread pool (PIL releases the GIL) and consumed strictly in source
order through a bounded window, so the output does not depend on the worker count and memory
stays bounded. A shard is closed before a sample would take it past ``max_shard_bytes`` or
``max_shard_samples``; after each shard the manifest is rewritten (``complete: false``), which
is what an interrupted run resumes from (:mod:`.resume`). The manifest holds no timestamps: an
interrupted run resumed gives the same bytes as one that was never interrupted.
"""

from __future__ import annotations

import logging
import os
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..data.prepared_format import (
    MANIFEST_NAME,
    SHARDS_DIR,
    BadFile,
    Counts,
    Options,
    PreparedManifest,
    ShardEntry,
    write_json_atomic,
)
from ..errors import DatasetError
from ..spec.io import SpecLike
from .auto import planned_max_side
from .resume import check_same_inputs, existing_run, verify_shards
from .sample import SampleResult, process_sample
from .shards import ShardWriter, sample_members
from .source import Bound, bind

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]


def make_options(options: Options | None, overrides: dict[str, Any]) -> Options:
    """``options`` with ``overrides`` applied, checked (``max_side`` and ``min_side`` exclude
    each other)."""
    base = options.model_dump() if options is not None else {}
    try:
        chosen = Options.model_validate({**base, **overrides})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "options"
        raise DatasetError(f"options.{where}: {first['msg']}") from None
    if chosen.max_side is not None and chosen.min_side is not None:
        raise DatasetError(
            f"options: expected max_side or min_side, got both ({chosen.max_side} and "
            f"{chosen.min_side})"
        )
    return chosen


@dataclass
class _Run:
    """What a run has written so far; ``manifest()`` describes it up to a source index."""

    out: Path
    base: PreparedManifest
    #: The source index this run starts at.
    start: int = 0
    shards: list[ShardEntry] = field(default_factory=list)
    counts: Counts = field(default_factory=Counts)
    bad: list[BadFile] = field(default_factory=list)
    bad_samples: list[int] = field(default_factory=list)

    def manifest(self, upto: int, complete: bool = False) -> PreparedManifest:
        bad = [b for b in self.bad if b.source_index < upto]
        counts = self.counts.model_copy(
            update={"bad": sum(1 for i in self.bad_samples if i < upto)}
        )
        return self.base.model_copy(
            update={
                "complete": complete,
                "shards": tuple(self.shards),
                "counts": counts,
                "bad": tuple(bad),
                "next_source_index": upto,
            }
        )

    def save(self, upto: int, complete: bool = False) -> PreparedManifest:
        manifest = self.manifest(upto, complete)
        write_json_atomic(self.out / MANIFEST_NAME, manifest)
        return manifest

    def count(self, result: SampleResult) -> None:
        if not result.ok:
            self.bad.extend(result.bad)
            self.bad_samples.append(result.index)
            return
        kept = sum(image.kept for image in result.images)
        self.counts = self.counts.model_copy(
            update={
                "samples": self.counts.samples + 1,
                "kept": self.counts.kept + kept,
                "reencoded": self.counts.reencoded + len(result.images) - kept,
                "bytes_in": self.counts.bytes_in + sum(i.source_bytes for i in result.images),
            }
        )

    def close(self, writer: ShardWriter) -> None:
        entry, _ = writer.close()
        self.shards.append(entry)
        self.counts = self.counts.model_copy(
            update={"bytes_out": self.counts.bytes_out + entry.bytes}
        )
        log.info("%s: %d samples, %d bytes", entry.name, entry.samples, entry.bytes)


def prepare(
    source: Any,
    out: str | os.PathLike[str],
    *,
    spec: SpecLike | os.PathLike[str] | None = None,
    options: Options | None = None,
    annotations: str | os.PathLike[str] | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
    coverage: float = 0.95,
    **option_overrides: Any,
) -> PreparedManifest:
    """Write ``source`` to ``out`` as WebDataset tar shards of bounded-size images.

    ``source``: a dataset (ImageFolder, Manifest, WebDataset, Coco, anything with ``bind``) or
    a path (a folder, a ``.csv``/``.jsonl`` manifest, ``.tar`` shards or a pattern; a Coco
    images folder with ``annotations``). ``spec`` (a spec, a strategy name or a file) gives the
    columns carried; ``options`` (or keywords such as ``max_side=512``) the bound and the
    shards (:class:`~..data.prepared_format.Options`). ``progress(done, total)`` is called after
    each sample. Bad files are left out and listed in the manifest. An interrupted run resumes
    where it stopped; a finished one with the same inputs is returned without work.

    ``max_side="auto"`` (with a ``spec``) plans the bound: the smallest longest side at which
    ``coverage`` of the spec's draws over the data's image sizes are not magnified
    (:mod:`.auto`); the manifest records the side chosen.
    """
    auto = option_overrides.get("max_side") == "auto"
    if auto:
        option_overrides = {**option_overrides, "max_side": None}
    chosen = make_options(options, option_overrides)
    count = (os.cpu_count() or 1) if workers is None else workers
    if count < 1:
        raise DatasetError(f"workers: expected an int >= 1, got {workers}")
    if not 0 < coverage <= 1:
        raise DatasetError(f"coverage: expected 0 < coverage <= 1, got {coverage}")
    source_bound = bind(source, spec, annotations)
    if auto:
        side = planned_max_side(source_bound, spec, coverage)
        chosen = make_options(chosen, {"max_side": side})
    target = Path(out)
    base = PreparedManifest(
        complete=False,
        source=source_bound.info,
        options=chosen,
        outputs=source_bound.outputs,
        classes=source_bound.classes,
        num_classes=source_bound.num_classes,
        created_by=f"dali-pipelines {_version()}",
    )
    run = _start(target, base)
    if isinstance(run, PreparedManifest):
        return run
    (target / SHARDS_DIR).mkdir(exist_ok=True)
    _write(run, source_bound, chosen, count, progress)
    log.info("%s: complete, %d samples in %d shards", target, run.counts.samples, len(run.shards))
    return run.save(source_bound.info.samples, complete=True)


def _version() -> str:
    """The installed package's version (the package's ``__version__`` is a layer above)."""
    from importlib import metadata

    try:
        return metadata.version("dali-pipelines")
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return "unknown"


def _start(out: Path, base: PreparedManifest) -> _Run | PreparedManifest:
    """The run to continue, or the finished output's manifest."""
    old = existing_run(out)
    if old is None:
        out.mkdir(parents=True, exist_ok=True)
        run = _Run(out, base)
        run.save(0)
        return run
    check_same_inputs(out, old, base)
    if old.complete:
        log.info("%s: already complete with the same source and options; nothing to do", out)
        return old
    verify_shards(out, old)
    log.info("%s: resuming at source index %d", out, old.next_source_index)
    run = _Run(out, base, old.next_source_index, list(old.shards), old.counts, list(old.bad))
    run.bad_samples = sorted({b.source_index for b in old.bad})
    return run


def _results(
    source: Bound, options: Options, start: int, workers: int
) -> Any:  # Iterator[SampleResult]
    """Results of samples ``start..`` in source order, at most ``4 * workers`` in flight."""
    total = source.info.samples
    window = 4 * workers
    with ThreadPoolExecutor(workers, thread_name_prefix="prepare") as pool:
        pending: deque[Future[SampleResult]] = deque()
        following = start
        try:
            while following < total or pending:
                while following < total and len(pending) < window:
                    pending.append(pool.submit(process_sample, source, following, options))
                    following += 1
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()


def _write(
    run: _Run,
    source: Bound,
    options: Options,
    workers: int,
    progress: Progress | None,
) -> None:
    folder = run.out / SHARDS_DIR
    keys = source.image_keys
    total = source.info.samples
    writer: ShardWriter | None = None
    try:
        for result in _results(source, options, run.start, workers):
            if not result.ok:
                run.count(result)
            else:
                members = sample_members(result, keys)
                if writer is not None and (
                    writer.samples >= options.max_shard_samples
                    or writer.bytes_with(members) > options.max_shard_bytes
                ):
                    run.close(writer)
                    run.save(writer.results[-1].index + 1)
                    writer = None
                if writer is None:
                    writer = ShardWriter(folder, len(run.shards), keys)
                writer.add(result, members)
                run.count(result)
            if progress is not None:
                progress(result.index + 1, total)
        if writer is not None:
            run.close(writer)
            writer = None
    finally:
        if writer is not None:
            writer.abort()
