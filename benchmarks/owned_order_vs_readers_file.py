"""Owning the sample order must not cost speed: our loader vs a bare DALI graph with readers.file.

    python benchmarks/owned_order_vs_readers_file.py [--data DIR] [--reps 5] [--threads 2]

Both run the same work on the same files: random-resized-crop fused with decoding, resize to
224, random horizontal flip, normalize to CHW float32, batch 64, and both copy each batch into a
torch tensor. The bare graph uses DALI's own reader and random ops through DALIGenericIterator;
ours draws order and parameters in Python (global shuffle, reproducible per sample). Repetitions
are interleaved so drift on a shared machine hits both; the ratio of medians is printed.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

MEAN = [0.485 * 255, 0.456 * 255, 0.406 * 255]
STD = [0.229 * 255, 0.224 * 255, 0.225 * 255]


def bare_dali(root: Path, batch_size: int, threads: int) -> Any:
    from nvidia.dali import fn, pipeline_def, types
    from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy

    @pipeline_def(batch_size=batch_size, num_threads=threads, device_id=None, seed=0)
    def graph() -> Any:
        jpegs, labels = fn.readers.file(file_root=str(root), random_shuffle=True, name="Reader")
        images = fn.decoders.image_random_crop(
            jpegs, device="cpu", output_type=types.RGB, jpeg_fancy_upsampling=True
        )
        images = fn.resize(images, size=[224.0, 224.0])
        images = fn.crop_mirror_normalize(
            images,
            mirror=fn.random.coin_flip(probability=0.5),
            mean=MEAN,
            std=STD,
            dtype=types.FLOAT,
            output_layout="CHW",
        )
        return images, labels

    return DALIGenericIterator(
        [graph()],
        ["images", "labels"],
        reader_name="Reader",
        last_batch_policy=LastBatchPolicy.PARTIAL,
        auto_reset=True,
    )


def epoch_rate(loader: Any) -> float:
    start, count = time.perf_counter(), 0
    for batch in loader:
        images = batch[0]["images"] if isinstance(batch, list) else batch[0]
        count += int(images.shape[0])
    return count / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)

    from dali_pipelines import DataLoader, ImageFolder

    if args.data is None:
        from dali_pipelines.data.demo import cached_demo_imagefolder

        args.data, _ = cached_demo_imagefolder()
    ours = DataLoader(
        ImageFolder(args.data),
        "imagenet_train",
        batch_size=args.batch_size,
        shuffle=True,
        num_threads=args.threads,
        backend="dali",
    )
    bare = bare_dali(args.data, args.batch_size, args.threads)
    epoch_rate(ours), epoch_rate(bare)  # warm-up: buffers, page cache
    rates: dict[str, list[float]] = {"ours": [], "bare": []}
    for rep in range(args.reps):
        rates["ours"].append(epoch_rate(ours))
        rates["bare"].append(epoch_rate(bare))
        ours_rate, bare_rate = rates["ours"][-1], rates["bare"][-1]
        print(f"rep {rep + 1}: ours {ours_rate:.0f} img/s, bare {bare_rate:.0f} img/s")
    ours_median, bare_median = (statistics.median(rates[k]) for k in ("ours", "bare"))
    print(
        f"median: ours {ours_median:.0f} img/s, bare readers.file {bare_median:.0f} img/s, "
        f"ratio {ours_median / bare_median:.3f}"
    )
    ours.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
