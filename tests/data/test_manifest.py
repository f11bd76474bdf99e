"""Manifest: CSV/JSONL rows bound to a spec's source; errors name the row and column."""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from dali_pipelines import load_spec
from dali_pipelines.data.manifest import Manifest
from dali_pipelines.errors import DatasetError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.layout import Layout
from tests.sources_data import write_manifest


def layout(*outputs: dict[str, Any]) -> Layout:
    spec = {"ops": [{"op": "resize", "size": [16, 16]}], "source": {"outputs": list(outputs)}}
    return make_plan(load_spec(spec)).layout


IMAGES = ({"kind": "image", "name": "a"}, {"kind": "image", "name": "b"})
FULL = layout(
    *IMAGES,
    {"kind": "features", "columns": ["speed", "score"]},
    {"kind": "label"},
)


def rewrite(path: Path, row: int, column: str, value: Any) -> None:
    """Set one cell of a CSV manifest (rows count from 0 here)."""
    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    rows[row][column] = value
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_bind_reads_images_labels_and_features(tmp_path: Path, fmt: str) -> None:
    path = write_manifest(tmp_path, rows=6, fmt=fmt)
    manifest = Manifest(path)
    assert len(manifest) == 6
    bound = manifest.bind(FULL)
    assert bound.images[0](2).tobytes() == (tmp_path / "img" / "2.jpg").read_bytes()
    assert bound.path(2, 1) == os.path.realpath(tmp_path / "img" / "2.jpg")
    # Class names sorted as ImageFolder sorts folders: cat, dog, eel.
    assert [bound.labels[0](i) for i in range(6)] == [0, 1, 2, 0, 1, 2]
    assert bound.num_classes == 3
    rows = (
        list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
        if fmt == "csv"
        else [json.loads(line) for line in path.read_text().splitlines()]
    )
    for i, row in enumerate(rows):
        expected = np.array([float(row["speed"]), float(row["score"])], dtype=np.float32)
        assert np.array_equal(bound.features[0](i), expected)  # exact, float32
    assert manifest.read_bytes(0).tobytes() == (tmp_path / "img" / "0.jpg").read_bytes()
    assert manifest.path(3) == "manifest." + fmt + " row 4"


def test_declared_classes_and_integer_labels(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=4)
    bound = Manifest(path).bind(
        layout(*IMAGES, {"kind": "label", "classes": ["eel", "dog", "cat"]})
    )
    assert [bound.labels[0](i) for i in range(4)] == [2, 1, 0, 2]
    for row in range(4):
        rewrite(path, row, "label", str(row))
    bound = Manifest(path).bind(layout(*IMAGES, {"kind": "label"}))
    assert [bound.labels[0](i) for i in range(4)] == [0, 1, 2, 3]
    assert bound.num_classes is None


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("a", "img/missing.jpg", r"row 3, column 'a': expected an existing file, got 'img/missing"),
        ("b", "", r"row 3, column 'b': expected a value, got an empty cell"),
        ("speed", "fast", r"row 3, column 'speed': expected a number, got 'fast'"),
        ("score", "nan", r"row 3, column 'score': expected a finite number, got 'nan'"),
        ("label", "3", r"row 3, column 'label': expected a class name like the other rows"),
    ],
)
def test_bad_cells_name_row_and_column(
    tmp_path: Path, column: str, value: str, message: str
) -> None:
    path = write_manifest(tmp_path, rows=5)
    rewrite(path, 2, column, value)
    with pytest.raises(DatasetError, match=message):
        Manifest(path).bind(FULL)


def test_unknown_class_and_missing_column(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=3)
    with pytest.raises(DatasetError, match=r"row 1, column 'label': expected one of the classes"):
        Manifest(path).bind(layout(*IMAGES, {"kind": "label", "classes": ["dog", "eel"]}))
    with pytest.raises(DatasetError, match=r"expected a column 'frame' .* got columns \['a'"):
        Manifest(path).bind(layout({"kind": "image", "name": "frame"}))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("../outside.jpg", r"row 2, column 'a': expected a path inside the manifest's folder"),
        ("img/../../outside.jpg", r"row 2, column 'a': .*\('\.\.'\)"),
        ("/etc/passwd", r"row 2, column 'a': expected a path relative to the manifest"),
        ("link.jpg", r"row 2, column 'a': .*\(a link to .*outside\.jpg\)"),
    ],
)
def test_paths_cannot_leave_the_manifest_folder(tmp_path: Path, value: str, message: str) -> None:
    inner = tmp_path / "inner"
    path = write_manifest(inner, rows=3)
    outside = tmp_path / "outside.jpg"
    outside.write_bytes((inner / "img" / "0.jpg").read_bytes())
    (inner / "link.jpg").symlink_to(outside)
    rewrite(path, 1, "a", value)
    with pytest.raises(DatasetError, match=message):
        Manifest(path).bind(layout({"kind": "image", "name": "a"}))


def test_links_inside_the_folder_are_fine(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=2)
    (tmp_path / "alias.jpg").symlink_to(tmp_path / "img" / "1.jpg")
    rewrite(path, 0, "a", "alias.jpg")
    bound = Manifest(path).bind(layout({"kind": "image", "name": "a"}))
    assert bound.images[0](0).tobytes() == (tmp_path / "img" / "1.jpg").read_bytes()


def test_a_file_swapped_for_a_link_after_binding_is_refused(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=2)
    bound = Manifest(path).bind(layout({"kind": "image", "name": "a"}))
    target = tmp_path / "img" / "0.jpg"
    target.unlink()
    target.symlink_to(tmp_path / "img" / "1.jpg")
    with pytest.raises(OSError):
        bound.images[0](0)


def test_malformed_files(tmp_path: Path) -> None:
    (tmp_path / "m.txt").write_text("a\n")
    with pytest.raises(
        DatasetError, match=r"expected a \.csv, \.jsonl or \.parquet file, got '\.txt'"
    ):
        Manifest(tmp_path / "m.txt")
    (tmp_path / "m.jsonl").write_text('{"a": "x.jpg"}\n[1, 2]\n')
    with pytest.raises(DatasetError, match=r"m\.jsonl line 2: expected an object, got list"):
        Manifest(tmp_path / "m.jsonl")
    (tmp_path / "e.csv").write_text("a,b\n")
    with pytest.raises(DatasetError, match=r"expected at least one row, got none"):
        Manifest(tmp_path / "e.csv")
    (tmp_path / "w.csv").write_text("a\nx.jpg,extra\n")
    with pytest.raises(DatasetError, match=r"w\.csv row 1: expected 1 cells, got more"):
        Manifest(tmp_path / "w.csv")
    with pytest.raises(DatasetError, match=r"Manifest\.path: expected a CSV or JSONL file"):
        Manifest(tmp_path / "missing.csv")


def test_json_types_are_checked(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=3, fmt="jsonl")
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[1]["speed"] = "3.5"  # numbers as text are accepted, as in CSV
    rows[2]["label"] = True
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DatasetError, match=r"row 3, column 'label': expected a class index or"):
        Manifest(path).bind(FULL)
    rows[2]["label"] = "cat"
    rows[0]["score"] = [1]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DatasetError, match=r"row 1, column 'score': expected a number, got \[1\]"):
        Manifest(path).bind(FULL)


def test_unbound_manifest_and_fingerprint(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=2)
    manifest = Manifest(path)
    with pytest.raises(DatasetError, match="expected a DataLoader to bind the manifest"):
        manifest.read_bytes(0)
    assert manifest.fingerprint() == Manifest(path).fingerprint()
    rewrite(path, 0, "score", "9")
    assert manifest.fingerprint() != Manifest(path).fingerprint()
    assert "rows=2" in repr(manifest)
