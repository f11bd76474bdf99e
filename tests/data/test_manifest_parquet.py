"""Parquet manifests through the optional pyarrow: same checks as CSV and JSONL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

# The dev extra installs pyarrow: missing, these tests fail rather than skip.
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dali_pipelines.data.manifest import Manifest, ManifestLimits
from dali_pipelines.errors import DatasetError
from tests.data.test_manifest_scale import LAYOUT, tree, write


def parquet(where: Path, **columns: list[object]) -> Path:
    pq.write_table(pa.table(columns), where)
    return where


def test_a_parquet_manifest_binds_like_its_csv(tmp_path: Path) -> None:
    names = tree(tmp_path)
    rows = 500
    paths = [names[r % len(names)] for r in range(rows)]
    labels = [f"c{r % 7}" for r in range(rows)]
    xs, ys = [r * 0.5 for r in range(rows)], [-r for r in range(rows)]
    manifest = Manifest(parquet(tmp_path / "m.parquet", path=paths, label=labels, x=xs, y=ys))
    assert len(manifest) == rows and manifest.columns == ("path", "label", "x", "y")
    bound = manifest.bind(LAYOUT)
    lines = [f"{p},{lab},{x},{y}" for p, lab, x, y in zip(paths, labels, xs, ys)]
    expected = Manifest(write(tmp_path, lines)).bind(LAYOUT)
    for r in range(rows):
        assert bound.path(r) == expected.path(r)
        assert bound.labels[0](r) == expected.labels[0](r)
        assert np.array_equal(bound.features[0](r), expected.features[0](r))
    assert bound.images[0](0).tobytes() == b"x"


def test_parquet_cells_are_checked_naming_the_row(tmp_path: Path) -> None:
    outside = tmp_path / "outside.jpg"
    outside.write_bytes(b"x")
    root = tmp_path / "root"
    names = tree(root)
    (root / "out.jpg").symlink_to(outside)
    cases = [
        (["out.jpg"], ["c0"], r"row 2, column 'path': .*\(a link to .*outside\.jpg\)"),
        (["missing.jpg"], ["c0"], r"row 2, column 'path': expected an existing file"),
        ([names[0]], [None], r"row 2, column 'label': expected a value, got an empty cell"),
    ]
    for path, label, message in cases:
        file = parquet(
            root / "m.parquet",
            path=[names[0], *path],
            label=["c0", *label],
            x=[1.0, 2.0],
            y=[1, 2],
        )
        with pytest.raises(DatasetError, match=message):
            Manifest(file).bind(LAYOUT)


def test_parquet_limits_and_bad_files(tmp_path: Path) -> None:
    file = parquet(tmp_path / "m.parquet", path=["a.jpg"] * 5)
    with pytest.raises(DatasetError, match=r"at most 3 rows \(ManifestLimits.max_rows\)"):
        Manifest(file, limits=ManifestLimits(max_rows=3))
    (tmp_path / "bad.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(DatasetError, match=r"bad\.parquet: expected a Parquet file, got"):
        Manifest(tmp_path / "bad.parquet")


def test_without_pyarrow_the_error_names_the_install(tmp_path: Path) -> None:
    file = parquet(tmp_path / "m.parquet", path=["a.jpg"])
    code = (
        "import sys; sys.modules['pyarrow'] = None\n"
        "from dali_pipelines.data.manifest import Manifest\n"
        "from dali_pipelines.errors import DatasetError\n"
        f"try:\n    Manifest({str(file)!r})\n"
        "except DatasetError as exc:\n    print(exc)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.getcwd()}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert "expected pyarrow to read a Parquet manifest (pip install pyarrow" in out.stdout, out
