"""URLs: detection, redaction of secrets, names, joins, and what a manifest cell may name."""

from __future__ import annotations

import pytest

from dali_pipelines.data.storage.urls import (
    ObjectUrl,
    is_remote,
    is_url,
    local_path,
    redact,
    relative_key,
)
from dali_pipelines.errors import DatasetError


def test_detection() -> None:
    assert is_url("s3://b/k") and is_remote("s3://b/k") and is_remote("HTTPS://h/x")
    assert is_url("file:///tmp/x") and not is_remote("file:///tmp/x")
    assert not is_url("/tmp/x") and not is_url("C:/x") and not is_url("rel/x.csv")
    assert not is_url(3) and not is_remote(None)


def test_file_urls_are_local_paths() -> None:
    assert local_path("file:///tmp/a%20b/x.csv") == "/tmp/a b/x.csv"
    assert local_path("file://localhost/tmp/x") == "/tmp/x"
    assert local_path("/tmp/x") == "/tmp/x"
    with pytest.raises(DatasetError, match="expected file:///absolute/path"):
        local_path("file://otherhost/tmp/x")


def test_redact_userinfo_query_values_and_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    signed = "https://h.example/b/k.jpg?X-Amz-Credential=AKID%2Fx&X-Amz-Signature=abcdef&v=1"
    assert redact(signed) == (
        "https://h.example/b/k.jpg?X-Amz-Credential=<redacted>&X-Amz-Signature=<redacted>"
        "&v=<redacted>"
    )
    assert redact("see https://user:pa55@h/x and s3://b/k") == (
        "see https://<redacted>@h/x and s3://b/k"
    )
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "verysecretvalue42")
    assert redact("boom: verysecretvalue42 leaked") == "boom: <redacted> leaked"


def test_object_url_names_and_joins() -> None:
    url = ObjectUrl("s3://bucket/data/train.csv")
    assert (url.name, url.suffix, url.path) == ("train.csv", ".csv", "bucket/data/train.csv")
    assert url.parent == ObjectUrl("s3://bucket/data/")
    assert url.parent.child("img/0.jpg").url == "s3://bucket/data/img/0.jpg"
    assert ObjectUrl("gs://b/x").protocol == "gcs" and ObjectUrl("s3a://b/x").protocol == "s3"
    signed = ObjectUrl("https://h/x.tar?sig=SECRET")
    assert str(signed) == "https://h/x.tar?sig=<redacted>" and signed.name == "x.tar"
    assert "SECRET" not in str(signed.parent) and "SECRET" not in repr(str(signed))
    with pytest.raises(DatasetError, match=r"URL: expected one of s3://.*, got 'ftp://h/x'"):
        ObjectUrl("ftp://h/x")


@pytest.mark.parametrize(
    ("cell", "match"),
    [
        ("../x.jpg", "expected a path inside"),
        ("a/../../x.jpg", "expected a path inside"),
        ("a//x.jpg", "expected a path inside"),
        ("/abs.jpg", "expected a path relative to"),
        ("a\\b.jpg", "expected a relative path"),
        ("", "expected a relative path"),
        ("x\0.jpg", "expected a relative path"),
        (3, "expected a relative path, got int"),
    ],
)
def test_relative_key_refuses_escapes(cell: object, match: str) -> None:
    with pytest.raises(DatasetError, match=match):
        relative_key(cell, "m.csv row 1", "the manifest's folder")


def test_relative_key_keeps_plain_names() -> None:
    assert relative_key("img/cat 1.jpg", "w", "f") == "img/cat 1.jpg"
