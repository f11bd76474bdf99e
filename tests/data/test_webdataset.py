"""WebDataset: local tar shards indexed by member offset, the index cached per shard."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines import load_spec
from dali_pipelines.data.webdataset import WebDataset, expand_shards
from dali_pipelines.errors import DatasetError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.layout import Layout
from tests.sources_data import write_shards

SOURCE: dict[str, Any] = {
    "outputs": [
        {"kind": "image", "name": "image", "column": "jpg;png"},
        {"kind": "features", "columns": ["speed"]},
        {"kind": "label", "column": "cls"},
    ]
}


def layout(source: dict[str, Any] = SOURCE) -> Layout:
    spec = {"ops": [{"op": "resize", "size": [16, 16]}], "source": source}
    return make_plan(load_spec(spec)).layout


def test_samples_members_and_bytes(tmp_path: Path) -> None:
    paths = write_shards(tmp_path, [3, 2])
    ds = WebDataset([str(p) for p in paths])
    assert len(ds) == 5 and ds.shard_sizes == [3, 2]
    bound = ds.bind(layout())
    assert [bound.labels[0](i) for i in range(5)] == [0, 1, 2, 3, 4]
    assert [float(bound.features[0](i)[0]) for i in range(5)] == [0.0, 0.5, 1.0, 1.5, 2.0]
    with tarfile.open(paths[1]) as tar:
        member = tar.extractfile("part/s00004.jpg")
        assert member is not None
        assert bound.images[0](4).tobytes() == member.read()
    assert bound.path(4).endswith("shard-001.tar:part/s00004.jpg")
    assert ds.path(0).endswith("shard-000.tar:part/s00000")
    ds.close()


def test_index_is_cached_and_rebuilt_when_the_shard_changes(tmp_path: Path) -> None:
    (path,) = write_shards(tmp_path, [2])
    WebDataset(path)
    cache = Path(f"{path}.idx.json")
    data = json.loads(cache.read_text())
    assert data["size"] == path.stat().st_size and len(data["samples"]) == 2
    data["samples"] = data["samples"][:1]  # a cache that still matches is trusted as is
    cache.write_text(json.dumps(data))
    assert len(WebDataset(path)) == 1
    write_shards(tmp_path, [3])  # the shard rewritten: size and mtime differ
    assert len(WebDataset(path)) == 3


def test_index_dir_and_an_unwritable_cache(tmp_path: Path) -> None:
    (path,) = write_shards(tmp_path / "shards", [2])
    ds = WebDataset(path, index_dir=tmp_path / "index")
    assert len(ds) == 2
    assert len(list((tmp_path / "index").glob("shard-000.tar.*.idx.json"))) == 1
    assert not Path(f"{path}.idx.json").exists()
    # Where the cache cannot be read or written (here a directory in its way), the shard is
    # indexed in memory every time.
    Path(f"{path}.idx.json").mkdir()
    assert len(WebDataset(path)) == 2
    assert not list((tmp_path / "shards").glob("*.tmp"))


def test_brace_and_glob_expansion(tmp_path: Path) -> None:
    write_shards(tmp_path, [1, 1, 1])
    pattern = str(tmp_path / "shard-{000..002}.tar")
    assert [Path(p).name for p in expand_shards(pattern)] == [
        "shard-000.tar",
        "shard-001.tar",
        "shard-002.tar",
    ]
    assert len(WebDataset(pattern)) == 3
    assert len(WebDataset(str(tmp_path / "shard-*.tar"))) == 3
    assert len(WebDataset(f"file://{tmp_path}/shard-000.tar")) == 1


def test_errors_name_the_shard_sample_and_column(tmp_path: Path) -> None:
    (path,) = write_shards(tmp_path, [2])
    ds = WebDataset(path)
    bad: dict[str, Any] = {"outputs": [{"kind": "image", "name": "image", "column": "webp"}]}
    with pytest.raises(
        DatasetError,
        match=r"shard-000\.tar sample 'part/s00000', column 'webp': expected a member "
        r"part/s00000\.webp, got part/s00000\.jpg, part/s00000\.cls",
    ):
        ds.bind(layout(bad))
    with pytest.raises(DatasetError, match=r"URL: expected one of s3://.*, got 'ftp://x/a\.tar'"):
        WebDataset("ftp://x/a.tar")
    with pytest.raises(DatasetError, match=r"expected shards matching .*nothing-\*\.tar"):
        WebDataset(str(tmp_path / "nothing-*.tar"))
    (tmp_path / "junk.tar").write_bytes(b"not a tar at all" * 40)
    with pytest.raises(DatasetError, match=r"junk\.tar: expected an uncompressed tar file"):
        WebDataset(tmp_path / "junk.tar")


def test_label_text_must_be_a_class(tmp_path: Path) -> None:
    (path,) = write_shards(tmp_path, [2])
    source: dict[str, Any] = {
        "outputs": [
            {"kind": "image", "name": "image", "column": "jpg"},
            {"kind": "label", "column": "cls", "classes": ["only"]},
        ]
    }
    with pytest.raises(
        DatasetError, match=r"sample 'part/s00001', column 'cls': expected a class index >= 0 and"
    ):
        WebDataset(path).bind(layout(source))


def test_fingerprint_follows_the_members(tmp_path: Path) -> None:
    paths = write_shards(tmp_path, [2, 2])
    assert WebDataset(paths).fingerprint() == WebDataset(paths).fingerprint()
    assert WebDataset(paths).fingerprint() != WebDataset(paths[:1]).fingerprint()


def test_image_members_are_bounded_like_files(tmp_path: Path) -> None:
    from dali_pipelines.errors import FileRefusedError

    paths = write_shards(tmp_path, [2])
    bound = WebDataset([str(p) for p in paths], max_file_bytes=10).bind(layout())
    with pytest.raises(FileRefusedError, match=r"s00001\.jpg.*larger than max_file_bytes=10"):
        bound.images[0](1)
    with pytest.raises(DatasetError, match="max_file_bytes: expected None or an int >= 1"):
        WebDataset([str(p) for p in paths], max_file_bytes=0)
