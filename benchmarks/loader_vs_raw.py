"""Loader overhead: our DataLoader vs DALIGenericIterator over the equivalent raw DALI graph.

Both sides do the same work on the same files: the raw graph is what a DALI user writes by
hand for the strategy (``readers.file`` + decode + resize/crop + ``crop_mirror_normalize``, with
the decoder options our graph uses), iterated by DALI's own torch iterator. Repetitions are
interleaved (raw, ours, raw, ours, ...) in one process, so machine load hits both alike; the
report gives medians, IQRs, the ratio ours/raw and the load average.

usage: python benchmarks/loader_vs_raw.py DIR [--specs imagenet_train imagenet_val]
       [--reps 5] [--batch 64] [--threads 2] [--json out.json]
DIR is an ImageFolder of JPEGs (``dali-pipelines demo-data DIR --n 1500``).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.spec.strategies import IMAGENET_MEAN, IMAGENET_STD

MEAN = [m * 255 for m in IMAGENET_MEAN]
STD = [s * 255 for s in IMAGENET_STD]


def raw_graph(spec: str, root: str, batch: int, threads: int, fancy: bool) -> Any:
    from nvidia.dali import fn, pipeline_def, types

    @pipeline_def(
        batch_size=batch, num_threads=threads, device_id=None, prefetch_queue_depth=2, seed=1
    )
    def graph() -> Any:
        jpegs, labels = fn.readers.file(file_root=root, name="r", random_shuffle=True)
        decode = {"device": "cpu", "output_type": types.RGB, "jpeg_fancy_upsampling": fancy}
        if spec == "imagenet_train":
            img = fn.decoders.image_random_crop(
                jpegs, random_area=[0.08, 1.0], random_aspect_ratio=[0.75, 4 / 3], **decode
            )
            img = fn.resize(img, resize_x=224, resize_y=224, antialias=True)
            mirror = fn.random.coin_flip()
            img = fn.crop_mirror_normalize(
                img, dtype=types.FLOAT, output_layout="CHW", mean=MEAN, std=STD, mirror=mirror
            )
        else:  # imagenet_val
            img = fn.decoders.image(jpegs, **decode)
            img = fn.resize(img, resize_shorter=256, antialias=True)
            img = fn.crop_mirror_normalize(
                img, crop=(224, 224), dtype=types.FLOAT, output_layout="CHW", mean=MEAN, std=STD
            )
        return img, labels

    pipe = graph()
    pipe.build()
    return pipe


def raw_epoch(iterator: Iterable[Any]) -> int:
    n = 0
    for data in iterator:
        n += int(data[0]["y"].shape[0])
        float(data[0]["x"][0, 0, 0, 0])  # touch the batch
    return n


def our_epoch(loader: DataLoader) -> int:
    n = 0
    for images, labels in loader:
        n += len(labels)
        float(images[0, 0, 0, 0])
    return n


def rate(epoch: Callable[[], int]) -> float:
    start = time.perf_counter()
    count = epoch()
    return count / (time.perf_counter() - start)


def quartiles(values: list[float]) -> tuple[float, float]:
    s = sorted(values)
    return s[len(s) // 4], s[(3 * len(s)) // 4]


def compare(spec: str, args: argparse.Namespace, fancy: bool) -> dict[str, Any]:
    from nvidia.dali.plugin.pytorch import DALIGenericIterator, LastBatchPolicy

    pipe = raw_graph(spec, args.root, args.batch, args.threads, fancy)
    raw = DALIGenericIterator(
        [pipe],
        ["x", "y"],
        reader_name="r",
        last_batch_policy=LastBatchPolicy.PARTIAL,
        auto_reset=True,
    )
    ours = DataLoader(
        ImageFolder(args.root),
        spec=spec,
        batch_size=args.batch,
        shuffle=True,
        num_threads=args.threads,
        device="cpu",
        seed=0,
    )
    raw_epoch(raw), our_epoch(ours)  # warm-up: build, first allocations
    load = os.getloadavg()[0]
    raws, oursr = [], []
    for _ in range(args.reps):
        raws.append(rate(lambda: raw_epoch(raw)))
        oursr.append(rate(lambda: our_epoch(ours)))
    ours.close()
    return {
        "spec": spec,
        "raw_decoder_fancy_upsampling": fancy,
        "raw_img_s": statistics.median(raws),
        "raw_iqr": quartiles(raws),
        "ours_img_s": statistics.median(oursr),
        "ours_iqr": quartiles(oursr),
        "ratio": statistics.median(oursr) / statistics.median(raws),
        "load_before": load,
        "load_after": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root")
    parser.add_argument("--specs", nargs="+", default=["imagenet_train", "imagenet_val"])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--plain-upsampling-raw",
        action="store_true",
        help="raw graph with DALI's default (non-fancy) JPEG upsampling: less work than ours",
    )
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    results = []
    for spec in args.specs:
        r = compare(spec, args, fancy=not args.plain_upsampling_raw)
        results.append(r)
        print(
            f"{spec}: raw DALI iterator {r['raw_img_s']:.0f} img/s "
            f"(IQR {r['raw_iqr'][0]:.0f}-{r['raw_iqr'][1]:.0f}); DataLoader "
            f"{r['ours_img_s']:.0f} (IQR {r['ours_iqr'][0]:.0f}-{r['ours_iqr'][1]:.0f}); "
            f"ratio {r['ratio']:.3f}; load {r['load_before']:.1f} -> {r['load_after']:.1f}"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
