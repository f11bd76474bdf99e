"""Allocator settings that keep a long run's RSS flat across epochs (glibc).

glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MiB), after
which multi-MiB buffers (decoded images, DALI's scratch) come from the heap and its per-thread
arenas, fragment, and RSS creeps up over the first epochs before it plateaus. Measured here with
``benchmarks/soak_rss.py`` (512 images, imagenet_train, batch 64, 20 epochs): by default RSS
epoch 2 -> 20 grew +9-11% (to ~1,000 MiB, then flat); with :data:`MALLOC_ENV` set before the
process starts, +1.5% (~800 MiB) at the same CPU time per image (~1,500 us).

These are environment settings, read by glibc at start-up, rather than ``mallopt`` calls from
the library: called after DALI's threads exist, the same thresholds cost ~15% more CPU per image
here (more heap trimming and page faults), and a library should not change process-wide
allocator policy behind a user's back. A 1 MiB threshold was flatter (+0.1%) but costlier.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

MALLOC_ENV = {
    # Fixed at 4 MiB: no dynamic raising, so buffers above it always go back to the kernel.
    "MALLOC_MMAP_THRESHOLD_": str(4 << 20),
    # Fixing the mmap threshold would pin trimming at 128 KiB (page faults every batch).
    "MALLOC_TRIM_THRESHOLD_": str(256 << 20),
}


def malloc_env_missing() -> list[str]:
    return [name for name in MALLOC_ENV if name not in os.environ]


def reexec_with_malloc_env(argv: Sequence[str] | None = None) -> None:
    """Restart this Python script with :data:`MALLOC_ENV` unless it is already set (Linux)."""
    if not sys.platform.startswith("linux") or not malloc_env_missing():
        return
    env = {**MALLOC_ENV, **os.environ}
    args = [sys.executable, *(sys.argv if argv is None else argv)]
    os.execve(sys.executable, args, env)
