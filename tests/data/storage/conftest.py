"""A real S3-compatible server on 127.0.0.1 (moto, server mode) for the storage tests, a
fault-injecting proxy in front of it, and the credentials of a made-up account in the
environment, as a user's machine would have them."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from dali_pipelines.data.storage import StorageOptions
from tests.data.storage.faults import FaultProxy

#: Fake credentials; the secret is distinctive so a test can search every message and log for it.
ACCESS_KEY = "AKIDTESTSTORAGE0001"
SECRET_KEY = "sEcReT-tEsT-kEy/dali+pipelines-0123456789"
BUCKET = "data"


@dataclass
class S3:
    endpoint: str  # the server itself
    proxy: FaultProxy  # in front of it
    client: Any  # boto3's, straight to the server (uploads)

    def upload(self, folder: Path, prefix: str) -> str:
        """Every file under ``folder`` as ``s3://data/<prefix>/<relative path>``."""
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            key = f"{prefix}/{path.relative_to(folder).as_posix()}"
            self.client.put_object(Bucket=BUCKET, Key=key, Body=path.read_bytes())
        return f"s3://{BUCKET}/{prefix}"

    def options(self, faulty: bool = False, **extra: Any) -> StorageOptions:
        """Quick retries for tests; ``faulty``: through the proxy."""
        values: dict[str, Any] = {
            "timeout_s": 2.0,
            "deadline_s": 20.0,
            "retries": 4,
            "backoff_s": 0.01,
            "backoff_max_s": 0.05,
        }
        if faulty:
            values["endpoint_url"] = self.proxy.url
        return StorageOptions(**{**values, **extra})


@pytest.fixture(scope="session")
def s3_server() -> Iterator[S3]:
    # The dev extra installs these: a missing one fails here, never skips the storage tests.
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request otherwise
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    proxy = FaultProxy((host, port)).start()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
        env.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        env.setenv("AWS_ENDPOINT_URL", endpoint)  # the standard variable: no option needed
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL_S3"):
            env.delenv(name, raising=False)
        client = boto3.client("s3", endpoint_url=endpoint)
        client.create_bucket(Bucket=BUCKET)
        yield S3(endpoint, proxy, client)
    proxy.stop()
    server.stop()


@pytest.fixture
def s3(s3_server: S3) -> Iterator[S3]:
    s3_server.proxy.clear()
    yield s3_server
    s3_server.proxy.clear()
