"""pytest-benchmark suite (``make bench-suite``): regression tracking over time.

Files here are named ``bench_*.py`` so ``make test`` never collects them; this hook makes
``pytest benchmarks`` collect them. The head-to-head DALI vs baseline comparison with
interleaved reps is ``dali-pipelines bench``; this suite tracks each piece on its own.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Images in the suite's demo folder; small so a round is seconds, override for steadier numbers.
BENCH_N = int(os.environ.get("DALI_PIPELINES_BENCH_N", "512"))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Module | None:
    if file_path.suffix == ".py" and file_path.name.startswith("bench_"):
        return pytest.Module.from_parent(parent, path=file_path)
    return None


@pytest.fixture(scope="session")
def demo_root() -> Path:
    """The cached demo ImageFolder (made once in .cache, like ``make bench``)."""
    pytest.importorskip("skimage")
    from dali_pipelines.data.demo import cached_demo_imagefolder

    root, _created = cached_demo_imagefolder(ROOT / ".cache", n=BENCH_N, classes=10, seed=0)
    return root
