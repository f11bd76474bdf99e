"""Object storage vs local disk: the same loader and spec over the demo set read from a local
S3 server (moto, in its own process) and from the local files.

Two pairs, each the same data both ways: a CSV manifest of the demo ImageFolder (a GET per
image) and a prepared copy (``prepare``: a ranged GET per sample into tar shards). Repetitions
are interleaved (local, remote, local, remote, ...) in one process after a warm-up epoch of
each, so machine load hits both alike; the report gives medians, IQRs, the ratio remote/local
and the load average. The remote side's read-ahead reads the next epoch's first samples when an
epoch ends (``--read-ahead-mib``, as in training); the script waits for it to settle before
timing the other side. No cache: every remote epoch reads every byte over HTTP (``--cache``
adds a third side, remote with a local cache that its warm-up epoch filled). The server
shares this machine's cores with the loader (a real bucket's work happens elsewhere), so the
ratio is a floor for a bucket with this latency.

It also reports the server's own ceiling: whole-object GETs of the demo images from 16
threads, no decoding (what the remote side cannot exceed on this machine).

usage: python benchmarks/remote_throughput.py [--n 1000] [--reps 5] [--batch 64]
       [--threads 2] [--spec imagenet_train] [--read-ahead-mib 4] [--cache] [--work DIR]
       [--json out.json]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dali_pipelines import DataLoader, Manifest, Prepared, StorageOptions, prepare
from dali_pipelines.data.demo import make_demo_imagefolder
from dali_pipelines.data.storage import ObjectStore, ObjectUrl

BUCKET = "bench"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    """moto's S3 server in its own process (its own interpreter: no shared GIL)."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return server, f"http://127.0.0.1:{port}"
        time.sleep(0.2)
    server.kill()
    raise SystemExit("moto's server did not start")


def files(root: Path) -> Iterator[Path]:
    return (p for p in sorted(root.rglob("*")) if p.is_file() and not p.name.startswith("."))


def write_manifest(folder: Path) -> Path:
    path = folder / "train.csv"
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["images", "label"])
        for image in files(folder):
            if image.suffix == ".jpg":
                writer.writerow([image.relative_to(folder).as_posix(), image.parent.name])
    return path


def upload(client: Any, folder: Path, prefix: str) -> str:
    for path in files(folder):
        key = f"{prefix}/{path.relative_to(folder).as_posix()}"
        client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
    return f"s3://{BUCKET}/{prefix}"


def epoch(loader: DataLoader) -> float:
    start, count = time.perf_counter(), 0
    for images, labels in loader:
        count += len(labels)
        float(images[0, 0, 0, 0])  # touch the batch
    return count / (time.perf_counter() - start)


def server_ceiling(storage: StorageOptions, folder: str, threads: int = 16) -> float:
    """GETs a second of the demo images (read whole, not decoded) from ``threads`` threads."""
    store = ObjectStore(storage)
    infos = [
        info
        for sub in ("class_000", "class_001")
        for info in store.listing(ObjectUrl(f"{folder}/{sub}/")).values()
    ]
    start = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda i: store.read(i.url, 0, i.size, info=i), infos * 3))
    return 3 * len(infos) / (time.perf_counter() - start)


def settle(dataset: Any) -> None:
    """Wait until a remote dataset's read-ahead has nothing in flight: it reads the next
    epoch's first samples after an epoch (up to ``read_ahead_bytes``), which must not overlap
    the other side's timed epoch."""
    plan = getattr(dataset, "plan_reads", None)
    ahead = getattr(getattr(plan, "__self__", None), "ahead", None)
    while ahead is not None and ahead.busy:
        time.sleep(0.01)


def quartiles(values: list[float]) -> tuple[float, float]:
    s = sorted(values)
    return s[len(s) // 4], s[(3 * len(s)) // 4]


def compare(name: str, sides: dict[str, Any], args: argparse.Namespace) -> dict[str, Any]:
    """Interleaved epochs of each side's loader (``local`` first), after a warm-up of each."""

    def loader(dataset: Any) -> DataLoader:
        return DataLoader(
            dataset,
            args.spec,
            batch_size=args.batch,
            shuffle=True,
            seed=0,
            num_threads=args.threads,
            device="cpu",
        )

    loaders = {side: loader(dataset) for side, dataset in sides.items()}
    for side, each in loaders.items():
        epoch(each)  # warm-up: pipelines built, connections opened (a cache filled)
        settle(sides[side])
    load = os.getloadavg()[0]
    rates: dict[str, list[float]] = {side: [] for side in loaders}
    for _ in range(args.reps):
        for side, each in loaders.items():
            rates[side].append(epoch(each))
            settle(sides[side])
    for each in loaders.values():
        each.close()
    out: dict[str, Any] = {"data": name, "load_before": load, "load_after": os.getloadavg()[0]}
    for side, values in rates.items():
        out[f"{side}_img_s"] = statistics.median(values)
        out[f"{side}_iqr"] = quartiles(values)
        out[f"{side}_ratio"] = out[f"{side}_img_s"] / out["local_img_s"]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--spec", default="imagenet_train")
    # 4 MiB: ~100 demo images, a tenth of an epoch read ahead at an epoch's start (the
    # default 64 MiB would hold the whole demo set: each remote epoch read in full beforehand)
    parser.add_argument("--read-ahead-mib", type=int, default=4)
    parser.add_argument(
        "--cache", action="store_true", help="a third side: remote with a local cache (warm)"
    )
    parser.add_argument("--work", default=None, help="a folder for the data (default: temporary)")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    import boto3

    work = Path(args.work or tempfile.mkdtemp(prefix="remote-bench-"))
    folder = work / "demo"
    if not folder.is_dir():
        make_demo_imagefolder(folder, n=args.n, workers=args.threads)
    manifest = write_manifest(folder)
    prepared = work / "prepared"
    # Shards of 4 MiB: moto reads a whole object to serve a range of it (a 50 MiB shard: 48 ms
    # a range, 6 ms at 8 MiB and below), which S3 does not; small shards keep that cost out.
    prepare(folder, prepared, workers=args.threads, max_shard_bytes=4 << 20)
    os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench-secret")
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server, endpoint = start_server()
    try:
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        manifest_url = upload(client, folder, "demo") + "/train.csv"
        prepared_url = upload(client, prepared, "prepared")
        storage = StorageOptions(endpoint_url=endpoint, read_ahead_bytes=args.read_ahead_mib << 20)
        ceiling = server_ceiling(storage, manifest_url.rsplit("/", 1)[0])
        cached = storage.model_copy(update={"cache_dir": str(work / "cache")})
        sides = {
            "manifest": (Manifest, manifest, manifest_url),
            "prepared": (Prepared, prepared, prepared_url),
        }
        results = []
        for name, (kind, local, url) in sides.items():
            datasets = {"local": kind(local), "remote": kind(url, storage=storage)}
            if args.cache:
                datasets["cached"] = kind(url, storage=cached)
            results.append(compare(name, datasets, args))
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"server ceiling: {ceiling:.0f} GET/s (16 threads, whole images, no decode)")
    for r in results:
        r["server_get_s"] = ceiling
        parts = [
            f"{side} {r[f'{side}_img_s']:.0f} img/s (IQR {r[f'{side}_iqr'][0]:.0f}-"
            f"{r[f'{side}_iqr'][1]:.0f}, x{r[f'{side}_ratio']:.3f})"
            for side in ("local", "remote", "cached")
            if f"{side}_img_s" in r
        ]
        print(
            f"{r['data']} ({args.n} images, {args.spec}, batch {args.batch}, {args.threads} "
            f"threads): {'; '.join(parts)}; load {r['load_before']:.1f} -> {r['load_after']:.1f}"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
