"""Binding a large CSV manifest: seconds and peak RSS of ``Manifest(path)`` and ``bind``.

    python benchmarks/manifest_scale.py --rows 1000000            # generate, then measure
    python benchmarks/manifest_scale.py --rows 1000000 --profile  # plus the top cProfile lines
    python benchmarks/manifest_scale.py --rows 1000000 --bind-cache  # + a bind cache: the first
        # process writes it, then --ranks fresh processes bind at once and map it

Binding checks every row's path (inside the manifest's folder, an existing file), so the rows
must name real files; 10^6 files would take minutes to create, so the rows cycle over
``--files`` real files (default 10,000) in ``--dirs`` nested folders (default 100). The checks
cost the same per row whether or not a file repeats (nothing is cached per file), so this is
representative of 10^6 distinct files in as many folders. Columns: ``path,label,feature``
(labels are class names); measured in a fresh process so the peak RSS is the binding's own.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(root: Path, rows: int, files: int, dirs: int) -> Path:
    """A CSV manifest of ``rows`` rows over ``files`` one-byte files in ``dirs`` folders."""
    names = []
    for i in range(files):
        folder = f"d{i % dirs:03d}/e{(i // dirs) % 4}"
        os.makedirs(root / folder, exist_ok=True)
        name = f"{folder}/img_{i:07d}.jpg"
        (root / name).write_bytes(b"x")
        names.append(name)
    path = root / "manifest.csv"
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("path,label,feature\n")
        handle.writelines(
            f"{names[r % files]},class_{r % 1000:04d},{(r % 997) * 0.25}\n" for r in range(rows)
        )
    return path


def measure(path: Path, profile: bool, cache: Path | None = None) -> dict[str, object]:
    """Seconds to construct and bind, peak RSS (MiB), in this (fresh) process."""
    from dali_pipelines import load_spec
    from dali_pipelines.data.manifest import Manifest
    from dali_pipelines.plan import make_plan

    spec = {
        "ops": [{"op": "resize", "size": [16, 16]}],
        "source": {
            "outputs": [
                {"kind": "image", "name": "image", "column": "path"},
                {"kind": "label", "column": "label"},
                {"kind": "features", "columns": ["feature"]},
            ]
        },
    }
    layout = make_plan(load_spec(spec)).layout
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    manifest = Manifest(path, bind_cache=cache)
    constructed = time.perf_counter()
    bound = manifest.bind(layout)
    bound_at = time.perf_counter()
    if profiler:
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
        print(out.getvalue(), file=sys.stderr)
    assert bound.path(len(manifest) - 1).endswith(".jpg")
    gc.collect()
    with open("/proc/self/statm") as handle:  # resident pages now: what binding keeps
        pages = handle.read().split()
    page = os.sysconf("SC_PAGE_SIZE") / 2**20
    kept, shared = int(pages[1]) * page, int(pages[2]) * page
    return {
        "rows": len(manifest),
        "construct_s": round(constructed - start, 3),
        "bind_s": round(bound_at - constructed, 3),
        "total_s": round(bound_at - start, 3),
        "rss_before_mib": round(rss_before),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "rss_after_bind_mib": round(kept),
        "of_which_shared_mib": round(shared),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--files", type=int, default=10_000)
    parser.add_argument("--dirs", type=int, default=100)
    parser.add_argument("--profile", action="store_true", help="print cProfile's top lines")
    parser.add_argument("--bind-cache", action="store_true", help="bind with a bind cache")
    parser.add_argument("--ranks", type=int, default=2, help="processes mapping the cache")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)  # the child process
    parser.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure is not None:
        print(json.dumps(measure(args.measure, args.profile, args.cache)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        path = generate(Path(tmp), args.rows, min(args.files, args.rows), args.dirs)
        command = [sys.executable, __file__, "--measure", str(path)]
        command += ["--profile"] if args.profile else []
        if args.bind_cache:
            command += ["--cache", str(Path(tmp) / "bind-cache")]
        result = subprocess.run(command, check=True, capture_output=True, text=True)
        sys.stderr.write(result.stderr)
        print(result.stdout.strip())
        if args.bind_cache:  # the other ranks of the node, starting together: they map it
            children = [
                subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
                for _ in range(args.ranks)
            ]
            for child in children:
                print(child.communicate()[0].strip())


if __name__ == "__main__":
    main()
