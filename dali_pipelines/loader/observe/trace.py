"""A detailed profile's spans as a Chrome trace: open it in Perfetto (https://ui.perfetto.dev)
or ``chrome://tracing``.

The file is the Trace Event Format's JSON object form: ``{"traceEvents": [...]}`` with one
``"X"`` (complete) event per span (``ts``/``dur`` in microseconds from the first span, ``pid``
the process, ``tid`` one per thread, ``name`` the stage, ``cat`` ``critical`` or
``background``) and ``"M"`` metadata events naming the process and each thread's track. The
consumer's thread (the one with critical-path stages) comes first. A path ending in ``.gz`` is
written gzip-compressed (Perfetto opens it as is).
"""

from __future__ import annotations

import gzip
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ...backends.profile import CRITICAL, Profile, Span


def _epoch_spans(profile: Profile, epoch: int) -> list[Span]:
    if epoch not in profile.epochs:
        raise ValueError(
            f"epoch: expected one of the profiled epochs {sorted(profile.epochs)}, got {epoch}"
        )
    snapshot = profile.epochs[epoch]  # it knows when the epoch started and how long it ran
    start, end = snapshot.start, snapshot.start + snapshot.wall_s
    return [span for span in profile.spans if start <= span.start <= end]


def _tracks(spans: Iterable[Span]) -> dict[str, int]:
    """Thread name -> tid: the critical path's thread first, then by first span."""
    first: dict[str, float] = {}
    critical: set[str] = set()
    for span in spans:
        first.setdefault(span.thread, span.start)
        if span.stage in CRITICAL:
            critical.add(span.thread)
    order = sorted(first, key=lambda name: (name not in critical, first[name]))
    return {name: tid for tid, name in enumerate(order, 1)}


def trace_events(spans: list[Span], *, pid: int | None = None) -> dict[str, Any]:
    """The trace as a JSON-ready dict."""
    pid = os.getpid() if pid is None else pid
    tracks = _tracks(spans)
    origin = min((span.start for span in spans), default=0.0)
    events: list[dict[str, Any]] = [
        {
            "name": "process_name",
            "ph": "M",
            "pid": pid,
            "tid": 0,
            "args": {"name": "dali_pipelines loader"},
        },
    ]
    for name, tid in tracks.items():
        events.append(
            {"name": "thread_name", "ph": "M", "pid": pid, "tid": tid, "args": {"name": name}}
        )
        events.append(
            {
                "name": "thread_sort_index",
                "ph": "M",
                "pid": pid,
                "tid": tid,
                "args": {"sort_index": tid},
            }
        )
    for span in sorted(spans, key=lambda s: s.start):
        events.append(
            {
                "name": span.stage,
                "cat": "critical" if span.stage in CRITICAL else "background",
                "ph": "X",
                "ts": round((span.start - origin) * 1e6, 3),
                "dur": round(span.seconds * 1e6, 3),
                "pid": pid,
                "tid": tracks[span.thread],
            }
        )
    return {"traceEvents": events, "displayTimeUnit": "ms"}


def chrome_trace(
    profile: Profile, path: str | os.PathLike[str], *, epoch: int | None = None
) -> Path:
    """Write ``profile``'s spans (all kept ones, or one epoch's) as a Chrome trace at ``path``.

    Needs a detailed profile (``DataLoader(..., profile="detailed")``): counters alone have no
    spans. Returns the path written.
    """
    if not profile.detailed:
        raise ValueError("profile: expected detailed=True for a trace, got counters only")
    spans = list(profile.spans) if epoch is None else _epoch_spans(profile, epoch)
    text = json.dumps(trace_events(spans), separators=(",", ":"))
    target = Path(path)
    if target.suffix == ".gz":
        with gzip.open(target, "wt", encoding="utf-8") as out:
            out.write(text)
    else:
        target.write_text(text, encoding="utf-8")
    return target


__all__ = ["chrome_trace", "trace_events"]
