"""Soak: RSS after epoch 20 stays within 5% of RSS after epoch 2 (no per-epoch leak).

    python benchmarks/soak_rss.py [--data DIR] [--epochs 20] [--n 512]

Exit code 1 when the growth exceeds the limit. Uses the demo data (made once) by default. The
script restarts itself with the allocator settings of ``dali_pipelines.loader.memory`` (what we
recommend for long runs); ``--default-malloc`` measures glibc's defaults instead.
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path


def rss_mib() -> float:
    # Current RSS from /proc (ru_maxrss is the peak, which hides a release).
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * resource.getpagesize() / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--n", type=int, default=512)
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--limit", type=float, default=0.05)
    parser.add_argument("--default-malloc", action="store_true")
    args = parser.parse_args(argv)
    if not args.default_malloc:
        from dali_pipelines.loader.memory import reexec_with_malloc_env

        reexec_with_malloc_env()

    from dali_pipelines import DataLoader, ImageFolder

    if args.data is None:
        from dali_pipelines.data.demo import cached_demo_imagefolder

        args.data, _ = cached_demo_imagefolder(n=args.n, classes=8)
    loader = DataLoader(
        ImageFolder(args.data), "imagenet_train", batch_size=args.batch_size, shuffle=True
    )
    history = []
    for epoch in range(args.epochs):
        for images, _labels in loader:
            images.sum()  # touch the batch like a training step would
        history.append(rss_mib())
        print(f"epoch {epoch + 1:2d}: RSS {history[-1]:8.1f} MiB", flush=True)
    loader.close()
    growth = (history[-1] - history[1]) / history[1]
    print(
        f"RSS epoch 2 -> {args.epochs}: {history[1]:.1f} -> {history[-1]:.1f} MiB ({growth:+.1%})"
    )
    return 0 if growth <= args.limit else 1


if __name__ == "__main__":
    sys.exit(main())
