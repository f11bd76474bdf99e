"""``prepare`` from object storage: a manifest or shards by URL, the same shards as from disk."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

import pytest

from dali_pipelines import Prepared, WebDataset, prepare
from dali_pipelines.cli.main import main
from dali_pipelines.errors import DatasetError
from tests.data.storage.conftest import S3
from tests.sources_data import write_manifest, write_shards

pytestmark = pytest.mark.integration

SPEC = {
    "ops": [{"op": "resize", "size": [12, 12]}],
    "source": {"outputs": [{"kind": "image", "name": "a"}]},
}


def _shards(out: Path) -> dict[str, bytes]:
    """Every member of the tar shards but the samples' ``.json`` (it records the source path,
    a URL here and a local path there)."""
    members = {}
    for shard in sorted((out / "shards").glob("*.tar")):
        with tarfile.open(shard) as tar:
            for info in tar.getmembers():
                if not info.name.endswith(".json"):
                    handle = tar.extractfile(info)
                    assert handle is not None
                    members[f"{shard.name}/{info.name}"] = handle.read()
    return members


def test_prepare_reads_a_manifest_and_shards_by_url(s3: S3, tmp_path: Path) -> None:
    manifest = write_manifest(tmp_path / "m", rows=6)
    url = s3.upload(tmp_path / "m", "prep-m") + "/manifest.csv"
    local = prepare(manifest, tmp_path / "local", spec=SPEC, max_side=16, workers=1)
    remote = prepare(url, tmp_path / "remote", spec=SPEC, max_side=16, workers=1)
    assert _shards(tmp_path / "remote") == _shards(tmp_path / "local")
    assert remote.counts == local.counts and remote.source.location == url
    shards = write_shards(tmp_path / "w", [3, 2])
    pattern = s3.upload(tmp_path / "w", "prep-w") + "/shard-{000..001}.tar"
    prepare(WebDataset([str(p) for p in shards]), tmp_path / "wl", max_side=16, workers=1)
    prepare(pattern, tmp_path / "wr", max_side=16, workers=1)
    assert _shards(tmp_path / "wr") == _shards(tmp_path / "wl")


def test_credentials_in_a_source_url_are_not_recorded(s3: S3, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", rows=2)
    url = s3.upload(tmp_path / "m", "prep-c") + "/manifest.csv"
    secret = url.replace("s3://", "s3://AKIDEXAMPLE:hunter2@")
    for source in (secret, secret.replace(".csv", ".txt")):  # refused, named, redacted
        with pytest.raises(DatasetError) as refused:
            prepare(source, tmp_path / "x", max_side=16)
        assert "hunter2" not in str(refused.value) and "<redacted>" in str(refused.value)
    assert not (tmp_path / "x").exists()
    signed = url + "?X-Amz-Signature=hunter2"
    with pytest.raises(DatasetError) as failed:  # moto refuses it: the error stays redacted
        prepare(signed, tmp_path / "y", spec=SPEC, max_side=16, workers=1)
    assert "hunter2" not in str(failed.value)


def test_the_cli_prepares_from_a_url(s3: S3, tmp_path: Path) -> None:
    write_manifest(tmp_path / "m", rows=3)
    url = s3.upload(tmp_path / "m", "prep-cli") + "/manifest.csv"
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps(SPEC))
    argv = ["prepare", url, str(tmp_path / "out"), "--spec", str(spec), "--max-side", "16", "-q"]
    assert main(argv) == 0
    assert len(Prepared(tmp_path / "out")) == 3
