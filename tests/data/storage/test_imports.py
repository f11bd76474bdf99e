"""Object storage costs nothing until a URL is read: importing the package, loading a spec and
opening local data import neither fsspec nor any client (s3fs, botocore, aiohttp)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from tests.sources_data import write_shards

CODE = """
import sys
from dali_pipelines import Manifest, Prepared, StorageOptions, WebDataset, load_spec
from dali_pipelines.data.storage import ObjectStore, ObjectUrl

load_spec("imagenet_train")
WebDataset(sys.argv[1])
ObjectStore(StorageOptions(cache_dir=sys.argv[2]))
ObjectUrl("s3://bucket/key")
heavy = ("fsspec", "s3fs", "gcsfs", "botocore", "aiobotocore", "boto3", "aiohttp")
print(sorted(m for m in sys.modules if m.split(".")[0] in heavy))
"""


def test_nothing_remote_is_imported_for_local_data(tmp_path: Path) -> None:
    (shard,) = write_shards(tmp_path, [2])
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(CODE), str(shard), str(tmp_path / "cache")],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert out.stdout.strip() == "[]", out.stdout
