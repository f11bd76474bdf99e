"""``Manifest(path, bind_cache=DIR)``: bound once, mapped by every later bind, the same values."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from dali_pipelines.data.manifest import Manifest
from dali_pipelines.data.manifest_mapped import MappedPaths
from dali_pipelines.errors import DatasetError
from tests.data.test_manifest_scale import LAYOUT, rows_for, tree, write


def _values(manifest: Manifest) -> tuple[list[str], list[int], np.ndarray]:
    bound = manifest.bind(LAYOUT)
    rows = range(len(manifest))
    paths = [bound.path(i) for i in rows]
    labels = [bound.labels[0](i) for i in rows]
    features = np.stack([bound.features[0](i) for i in rows])
    return paths, labels, features


def _entries(cache: Path) -> list[Path]:
    return sorted(p for p in cache.iterdir() if p.is_dir())


@pytest.fixture
def manifest_file(tmp_path: Path) -> Path:
    names = tree(tmp_path)
    names.append("d4/e0/caf\u00e9 \u00fcber.jpg")  # names are stored as UTF-8 bytes
    (tmp_path / names[-1]).write_bytes(b"x")
    return write(tmp_path, rows_for(names, 200))


def test_a_mapped_bind_gives_what_binding_gives(manifest_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _values(Manifest(manifest_file))
    first = Manifest(manifest_file, bind_cache=cache)
    assert _values(first)[0] == expected[0]
    assert len(_entries(cache)) == 1
    again = Manifest(manifest_file, bind_cache=cache)
    got = _values(again)
    paths = again.bind(LAYOUT).image_paths[0]
    assert isinstance(paths.__self__, MappedPaths)  # type: ignore[attr-defined]
    assert got[0] == expected[0] and got[1] == expected[1]
    assert np.array_equal(got[2], expected[2]) and got[2].dtype == expected[2].dtype
    assert got[2].flags.writeable  # rows handed out are copies, the map stays read-only
    assert again.read_bytes(len(again) - 1) is not None


def test_what_fixes_the_columns_keys_the_entry(manifest_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    _values(Manifest(manifest_file, bind_cache=cache))
    _values(Manifest(manifest_file, bind_cache=cache, check_files=False))
    assert len(_entries(cache)) == 2
    text = manifest_file.read_text(encoding="utf-8")
    manifest_file.write_text(text.replace(",c1,", ",c2,"), encoding="utf-8")  # other content
    changed = _values(Manifest(manifest_file, bind_cache=cache))
    assert len(_entries(cache)) == 3
    assert changed[:2] == _values(Manifest(manifest_file))[:2]


def test_a_damaged_entry_is_bound_again(manifest_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    expected = _values(Manifest(manifest_file, bind_cache=cache))
    (entry,) = _entries(cache)
    (entry / "files0-ends.npy").write_bytes(b"\x93NUMPY broken")
    assert _values(Manifest(manifest_file, bind_cache=cache))[0] == expected[0]
    assert _values(Manifest(manifest_file, bind_cache=cache))[0] == expected[0]
    assert [p.name for p in _entries(cache)] == [entry.name]  # rewritten, no leftovers


def test_a_bad_row_is_still_named_and_nothing_is_written(tmp_path: Path) -> None:
    names = tree(tmp_path)
    path = write(tmp_path, [*rows_for(names, 5), "missing.jpg,c1,0,0"])
    cache = tmp_path / "cache"
    with pytest.raises(DatasetError, match=r"m\.csv row 6, column 'path'"):
        Manifest(path, bind_cache=cache).bind(LAYOUT)
    assert _entries(cache) == []


def test_an_unusable_cache_folder_is_named(manifest_file: Path) -> None:
    with pytest.raises(DatasetError, match=r"^Manifest\.bind_cache: expected a folder"):
        Manifest(manifest_file, bind_cache=manifest_file / "sub")


def _bind_in_child(args: tuple[str, str]) -> list[str]:
    return _values(Manifest(args[0], bind_cache=args[1]))[0]


def test_ranks_binding_at_once_share_one_entry(manifest_file: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    context = multiprocessing.get_context("fork")
    with context.Pool(3) as pool:
        results = pool.map(_bind_in_child, [(str(manifest_file), str(cache))] * 3)
    assert results[0] == results[1] == results[2] == _values(Manifest(manifest_file))[0]
    assert len(_entries(cache)) == 1
    assert not [p for p in cache.iterdir() if ".tmp-" in p.name]
