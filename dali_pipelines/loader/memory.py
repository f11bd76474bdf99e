"""Keep the process's RSS flat across epochs (glibc's malloc otherwise lets it creep up).

glibc raises its mmap threshold each time a large mmapped block is freed (up to 32 MiB), after
which multi-MiB buffers (DALI's per-batch outputs, decoded images) come from the heap and its
per-thread arenas, fragment, and RSS grows epoch over epoch. Fixing the threshold at 1 MiB
turns that adjustment off: measured here with ``benchmarks/soak_rss.py`` (512 images,
imagenet_train, batch 64), RSS after epoch 12 was +0.1% of epoch 2 and 780 MiB, against +7-11%
and ~1,040 MiB by default. Small allocations (file bytes, Python objects) are unaffected.

Opt out with ``DALI_PIPELINES_MALLOC_TUNING=0``; an explicit ``MALLOC_MMAP_THRESHOLD_`` in the
environment is respected as is.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import platform

M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
THRESHOLD_BYTES = 1 << 20

_applied = False


def tune_malloc() -> bool:
    """Fix glibc's mmap threshold once per process; True when it was set by this call or before."""
    global _applied
    if _applied:
        return True
    if os.environ.get("DALI_PIPELINES_MALLOC_TUNING", "1") == "0":
        return False
    if "MALLOC_MMAP_THRESHOLD_" in os.environ or platform.system() != "Linux":
        return False
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        _applied = bool(libc.mallopt(M_MMAP_THRESHOLD, THRESHOLD_BYTES))
    except (OSError, AttributeError):  # not glibc after all, or mallopt missing
        return False
    return _applied
