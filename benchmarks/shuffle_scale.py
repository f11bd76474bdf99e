"""Time and peak memory to produce one rank's indices of one epoch: Feistel vs ``torch.randperm``.

    python benchmarks/shuffle_scale.py [--sizes 1e6 1e8 1e9] [--world-size 8] [--randperm-max 1e8]

Each case runs in a fresh subprocess (so the peak RSS is its own): ``EpochOrder`` with
``shuffle_algorithm="feistel"`` streams rank 0's indices in chunks of 2**20 and sums them (no
rank's list is kept); ``"randperm"`` is the loader's default path, ``rank_indices``
(``torch.randperm(n)``, its int64 copy, then the rank's slice). Reported: wall seconds, the
growth of peak RSS over the process after imports (``ru_maxrss``), and for Feistel the peak of
numpy's allocations (``tracemalloc``). Sizes above ``--randperm-max`` are not run for randperm:
its row gives the arithmetic (8 bytes a sample for the permutation, twice with the copy).
The load average is printed before and after: the machine may be shared.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, tracemalloc
import numpy as np
import torch  # imported before the baseline in both cases
from dali_pipelines.loader.order import EpochOrder

algorithm, n, world = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
order = EpochOrder(n, 1, True, False, 0, 0, world, shuffle_algorithm=algorithm)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
traced = algorithm == "feistel"
if traced:
    tracemalloc.start()
start = time.perf_counter()
total = count = 0
if traced:
    for chunk in order.rank_index_chunks(0):
        total += int(chunk.sum())
        count += len(chunk)
else:
    indices = order.rank_indices(0)
    total, count = int(indices.sum()), len(indices)
seconds = time.perf_counter() - start
numpy_peak = tracemalloc.get_traced_memory()[1] if traced else None
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": seconds, "rss_mib": (peak - base) / 1024, "count": count,
                  "numpy_peak_mib": None if numpy_peak is None else numpy_peak / 2**20}))
"""


def run_case(algorithm: str, n: int, world: int) -> dict[str, float | None]:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, algorithm, str(n), str(world)],
        capture_output=True,
        text=True,
        check=True,
    )
    parsed: dict[str, float | None] = json.loads(result.stdout.strip().splitlines()[-1])
    return parsed


def _mib(value: float | None) -> str:
    return "-" if value is None else f"{value:,.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1e6, 1e8, 1e9])
    parser.add_argument("--world-size", type=int, default=8)
    parser.add_argument("--randperm-max", type=float, default=1e8)
    args = parser.parse_args(argv)
    world = args.world_size
    print(f"load average before: {os.getloadavg()}  cpus: {os.cpu_count()}  world size: {world}")
    print("| n | algorithm | rank's samples | seconds | peak RSS growth MiB | numpy peak MiB |")
    print("|---|---|---|---|---|---|")
    for size in args.sizes:
        n = int(size)
        for algorithm in ("feistel", "randperm"):
            if algorithm == "randperm" and n > args.randperm_max:
                gib = n * 8 / 2**30
                print(
                    f"| {n:.0e} | randperm | {-(-n // world):,} | not run | "
                    f"~{gib:.1f} GiB permutation (+{gib:.1f} GiB int64 copy), every rank | - |"
                )
                continue
            figures = run_case(algorithm, n, world)
            print(
                f"| {n:.0e} | {algorithm} | {int(figures['count'] or 0):,} | "
                f"{figures['seconds']:.2f} | {_mib(figures['rss_mib'])} | "
                f"{_mib(figures['numpy_peak_mib'])} |",
                flush=True,
            )
    print(f"load average after: {os.getloadavg()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
