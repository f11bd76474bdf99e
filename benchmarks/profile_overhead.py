"""What the loader's default profile (per-stage counters) costs: images/s with it and without.

Two loaders on the same files and spec, in one process: **counters** (the default
``loader.profile``) and **silent** (the same loader whose profile records nothing: its
recording methods replaced by no-ops on the instance, so every call site still runs but does
no work). Epochs are interleaved (counters, silent, silent, counters, ...) so machine load hits
both alike and neither always runs first. The report gives medians and IQRs, the cost
(1 - counters / silent, from the medians and per rep's pair), the load average, and the
profile's own figures: recording calls per image and their cost measured in isolation
(``record`` with its two clock reads, ``batch_done``), a figure free of the run's noise.

usage: python benchmarks/profile_overhead.py DIR [--spec imagenet_train] [--reps 7]
       [--batch 64] [--threads 2] [--json out.json]
DIR is an ImageFolder of JPEGs (``dali-pipelines demo-data DIR --n 1500``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import sys
import threading
import time
from typing import Any

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.backends.profile import Profile, ProfileSnapshot


def silence(profile: Profile) -> None:
    """Make ``profile`` record nothing (its call sites stay): the baseline without profiling."""

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    for name in ("add", "record", "merge", "queue", "batch_done", "start_epoch", "end_epoch"):
        setattr(profile, name, nothing)
    profile.range = lambda stage: contextlib.nullcontext()  # type: ignore[method-assign]


def epoch_rate(loader: DataLoader) -> float:
    start = time.perf_counter()
    n = 0
    for images, labels in loader:
        n += len(labels)
        float(images[0, 0, 0, 0])  # touch the batch
    return n / (time.perf_counter() - start)


def quartiles(values: list[float]) -> tuple[float, float]:
    s = sorted(values)
    return s[len(s) // 4], s[(3 * len(s)) // 4]


def record_cost_ns(calls: int = 200_000) -> float:
    """Nanoseconds of one ``Profile.record`` call with its two ``perf_counter`` stamps."""
    profile, clock = Profile(), time.perf_counter
    profile.record("read", 0.0, 0.0)  # the thread's accumulator exists
    start = clock()
    for _ in range(calls):
        began = clock()
        profile.record("read", began, clock(), nbytes=1)
    return 1e9 * (clock() - start) / calls


def batch_done_cost_ns(threads: int = 4, calls: int = 2_000) -> float:
    """Nanoseconds of one ``batch_done`` (it merges every thread's counters: ``threads``)."""
    profile = Profile()
    for _ in range(threads - 1):  # accumulators of other threads (feed, DALI's)
        worker = threading.Thread(target=profile.record, args=("read", 0.0, 0.0))
        worker.start()
        worker.join()
    profile.start_epoch(0)
    start = time.perf_counter()
    for _ in range(calls):
        profile.batch_done(64)
    return 1e9 * (time.perf_counter() - start) / calls


def calls_per_image(snapshot: ProfileSnapshot) -> float:
    """``record`` calls per image: one per sample for read, probe and draw, one per batch for
    every other stage (pack counts samples but is one call per batch)."""
    per_sample = sum(snapshot.stages[s].count for s in ("read", "probe", "draw"))
    per_batch = sum(
        1 if snapshot.stages[s].count else 0
        for s in snapshot.stages
        if s not in ("read", "probe", "draw")
    )
    return (per_sample + per_batch * snapshot.batches) / snapshot.images if snapshot.images else 0.0


def run(args: argparse.Namespace) -> dict[str, Any]:
    def loader() -> DataLoader:
        return DataLoader(
            ImageFolder(args.root),
            spec=args.spec,
            batch_size=args.batch,
            shuffle=True,
            num_threads=args.threads,
            device="cpu",
            backend="dali",
            seed=0,
        )

    counters, silent = loader(), loader()
    silence(silent.profile)
    epoch_rate(counters), epoch_rate(silent)  # warm-up: build, first allocations
    load = os.getloadavg()[0]
    with_profile, without = [], []
    for rep in range(args.reps):
        # A B, then B A: neither loader always runs first (after the other's epoch end).
        if rep % 2 == 0:
            with_profile.append(epoch_rate(counters))
            without.append(epoch_rate(silent))
        else:
            without.append(epoch_rate(silent))
            with_profile.append(epoch_rate(counters))
    paired = [1 - a / b for a, b in zip(with_profile, without)]
    snapshot = list(counters.profile.epochs.values())[-1]
    counters.close()
    silent.close()
    per_image_ms = 1e3 / statistics.median(with_profile)
    calls, cost_ns = calls_per_image(snapshot), record_cost_ns()
    batch_ns = batch_done_cost_ns() / args.batch  # per image
    return {
        "spec": args.spec,
        "batch": args.batch,
        "threads": args.threads,
        "reps": args.reps,
        "counters_img_s": statistics.median(with_profile),
        "counters_iqr": quartiles(with_profile),
        "silent_img_s": statistics.median(without),
        "silent_iqr": quartiles(without),
        "cost": 1 - statistics.median(with_profile) / statistics.median(without),
        # Each rep's pair compared: drift between reps cancels.
        "paired_cost": statistics.median(paired),
        "paired_cost_iqr": quartiles(paired),
        "calls_per_image": calls,
        "record_ns": cost_ns,
        # The calls' own time against an image's: the cost's floor on the consumer's critical
        # path and other threads alike (the same calls, spread over several threads).
        "batch_done_ns_per_image": batch_ns,
        "record_share": (calls * cost_ns + batch_ns) * 1e-6 / per_image_ms,
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--spec", default="imagenet_train")
    parser.add_argument("--reps", type=int, default=7)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    r = run(args)
    print(
        f"{r['spec']}, batch {r['batch']}, {r['threads']} threads, {r['reps']} interleaved reps: "
        f"counters {r['counters_img_s']:.0f} img/s (IQR {r['counters_iqr'][0]:.0f}-"
        f"{r['counters_iqr'][1]:.0f}); silent {r['silent_img_s']:.0f} (IQR "
        f"{r['silent_iqr'][0]:.0f}-{r['silent_iqr'][1]:.0f}); cost {100 * r['cost']:+.2f}% "
        "(per pair: "
        f"median {100 * r['paired_cost']:+.2f}%, IQR {100 * r['paired_cost_iqr'][0]:+.2f} to "
        f"{100 * r['paired_cost_iqr'][1]:+.2f}%); "
        f"{r['calls_per_image']:.2f} record calls per image x {r['record_ns']:.0f} ns + "
        f"batch_done {r['batch_done_ns_per_image']:.0f} ns per image = "
        f"{100 * r['record_share']:.3f}% of an image's time; load {r['load_before']:.1f} -> "
        f"{r['load_after']:.1f}"
    )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(r, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
