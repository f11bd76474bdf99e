"""What a Python stage costs: imagenet_train with and without one cheap registered numpy op.

    python benchmarks/hybrid_ratio.py [--n 2000] [--reps 5] [--threads 2] [--json out.json]

Loaders, all on the cached demo data (2,000 JPEGs ~500 px), batch 64, the same DALI threads:

* ``baseline``: imagenet_train (fused ROI decode + RRC 224, flip, normalize) on DALI;
* ``after_resize/<placement>``: a channel swap (numpy) right after the 224-px crop;
* ``after_decode/<placement>``: the same swap first, on the full-size decoded image;
* ``heavy/<placement>``: after the crop, a stage that burns ``--heavy-ms`` of Python per image
  (where the GIL-bound inline stage and the worker processes cross over);
* ``reference``: the all-Python torchvision reference (PIL + v2 in a torch DataLoader with as
  many workers as threads) with the swap after the crop.

``<placement>`` is ``inline`` (DALI's python_function) or ``workers`` (the split graph with
``--threads`` worker processes). Repetitions are interleaved so drift on a shared machine hits
every loader alike; medians and ratios to the baseline are printed, with the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np

from dali_pipelines import register_python_op

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]
RRC = {"op": "random_resized_crop", "size": [224, 224]}
TAIL = [{"op": "horizontal_flip", "p": 0.5}, {"op": "normalize", "mean": MEAN, "std": STD}]
HEAVY_S = 0.002


@register_python_op("bench_swap")
def channel_swap(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB -> BGR: about the cheapest real stage (one copy of the image).

    Three plane copies: ``np.ascontiguousarray(image[:, :, ::-1])`` does the same with a
    strided per-pixel copy, ~4x slower, and inside DALI's GIL-bound python_function that cost
    shows directly (measured after decode: 542 against 714 img/s).
    """
    out = np.empty_like(image)
    for c in range(image.shape[2]):
        out[..., c] = image[..., image.shape[2] - 1 - c]
    return out


@register_python_op("bench_heavy")
def heavy(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Holds the GIL for HEAVY_S per image, like pure-Python per-pixel work would."""
    end = time.perf_counter() + HEAVY_S
    while time.perf_counter() < end:
        pass
    return image


SWAP = {"op": "python", "name": "bench_swap"}
SPECS: dict[str, dict[str, Any]] = {
    "after_resize": {"ops": [RRC, SWAP, *TAIL]},
    "after_decode": {"ops": [SWAP, RRC, *TAIL]},
    "heavy": {"ops": [RRC, {"op": "python", "name": "bench_heavy"}, *TAIL]},
}


def loaders(root: Path, threads: int, heavy_too: bool) -> dict[str, Any]:
    from dali_pipelines import DataLoader, ImageFolder

    def make(spec: Any, **kw: Any) -> Any:
        kw.setdefault("backend", "dali")
        return DataLoader(
            ImageFolder(root),
            spec,
            batch_size=64,
            shuffle=True,
            num_threads=threads,
            python_workers=threads,
            device="cpu",
            **kw,
        )

    out = {"baseline": make("imagenet_train")}
    for name, spec in SPECS.items():
        if name == "heavy" and not heavy_too:
            continue
        for placement in ("inline", "workers"):
            out[f"{name}/{placement}"] = make(spec, python_placement=placement)
    out["reference"] = make(SPECS["after_resize"], backend="reference")
    return out


def epoch_rate(loader: Any) -> float:
    start, count = time.perf_counter(), 0
    for images, _ in loader:
        count += int(images.shape[0])
    return count / (time.perf_counter() - start)


def main() -> None:
    global HEAVY_S
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--heavy-ms", type=float, default=2.0, help="0 skips the heavy stage")
    parser.add_argument("--only", default="", help="comma-separated loader names")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args()
    HEAVY_S = args.heavy_ms / 1000.0
    from dali_pipelines.data.demo import cached_demo_imagefolder

    root, _ = cached_demo_imagefolder(Path(__file__).resolve().parents[1] / ".cache", n=args.n)
    made = loaders(root, args.threads, args.heavy_ms > 0)
    if args.only:
        keep = {"baseline", *args.only.split(",")}
        made = {k: v for k, v in made.items() if k in keep}
    rates: dict[str, list[float]] = {name: [] for name in made}
    loads = [os.getloadavg()[0]]
    for loader in made.values():  # warm-up: pipelines built, workers started
        epoch_rate(loader)
    for rep in range(args.reps):
        for name, loader in made.items():
            rates[name].append(epoch_rate(loader))
        loads.append(os.getloadavg()[0])
        print(f"rep {rep + 1}/{args.reps} done (load {loads[-1]:.2f})", flush=True)
    base = statistics.median(rates["baseline"])
    print(f"\n{'loader':<22}{'img/s (median)':>16}{'ratio':>8}   reps")
    report = {}
    for name, values in rates.items():
        med = statistics.median(values)
        report[name] = {"median": med, "ratio": med / base, "reps": values}
        reps = " ".join(f"{v:.0f}" for v in values)
        print(f"{name:<22}{med:>16.0f}{med / base:>8.2f}   {reps}")
    print(f"\nload average 1 min: {min(loads):.2f}-{max(loads):.2f}, {os.cpu_count()} cores")
    for loader in made.values():
        loader.close()
    if args.json is not None:
        meta = {"n": args.n, "threads": args.threads, "heavy_ms": args.heavy_ms, "load": loads}
        args.json.write_text(json.dumps({"meta": meta, "loaders": report}, indent=2))


if __name__ == "__main__":
    main()
