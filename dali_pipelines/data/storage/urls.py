"""URLs of objects: which strings are URLs, what messages may show of them, how names join.

A URL may carry secrets: ``https://user:password@host/...`` (userinfo) or a pre-signed URL's
query string (``X-Amz-Signature=...``, ``sig=...``, tokens). Nothing of the package prints a
URL as given: :func:`redact` replaces the userinfo and every query value, and
:class:`ObjectUrl` renders itself redacted, so an error message or a log line built from one
cannot leak them. The full URL stays in :attr:`ObjectUrl.url`, for the request only.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from ...errors import DatasetError

#: URL scheme -> fsspec protocol. ``s3a`` (Hadoop's name) is S3; ``gcs`` is ``gs``.
PROTOCOLS = {
    "s3": "s3",
    "s3a": "s3",
    "gs": "gcs",
    "gcs": "gcs",
    "http": "http",
    "https": "https",
    "file": "file",
}
#: fsspec protocol -> the package that implements it (named when it is missing).
PACKAGES = {"s3": "s3fs", "gcs": "gcsfs", "http": "aiohttp", "https": "aiohttp"}

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
# A URL inside free text (an exception's message): scheme, then anything up to a space/quote.
_IN_TEXT = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")
_USERINFO = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*://)[^/@?#]*@")
_QUERY_VALUE = re.compile(r"([?&][^=&#]*)=[^&#]*")
#: Environment variables whose values are secrets: never shown, even inside a cause's text.
SECRET_VARIABLES = (
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "GOOGLE_OAUTH_ACCESS_TOKEN",
)
REDACTED = "<redacted>"


def scheme_of(value: object) -> str | None:
    """The lower-case scheme of a URL string (``"s3"``), else ``None`` (a local path)."""
    if not isinstance(value, str):
        return None
    match = _SCHEME.match(value)
    return match.group(1).lower() if match else None


def is_url(value: object) -> bool:
    """``value`` is a string with a scheme (``s3://``, ``file://``, ...)."""
    return scheme_of(value) is not None


def is_remote(value: object) -> bool:
    """``value`` is a URL read through object storage (any scheme but ``file://``)."""
    scheme = scheme_of(value)
    return scheme is not None and scheme != "file"


def local_path(value: str | os.PathLike[str]) -> str:
    """A local path as it is; ``file:///abs/path`` (or ``file://localhost/...``) as its path."""
    text = os.fspath(value)
    if scheme_of(text) != "file":
        return text
    parts = urlsplit(text)
    if parts.netloc not in ("", "localhost"):
        raise DatasetError(
            f"file URL: expected file:///absolute/path (this machine), got host {parts.netloc!r}"
        )
    return unquote(parts.path)


def redact(text: str, url: object = None) -> str:
    """``text`` with every URL's userinfo and query values replaced, and the values of
    :data:`SECRET_VARIABLES` (should a library's message quote one) removed; with ``url``, its
    own userinfo and query values too wherever they appear (a library may quote the object
    without its scheme, so no URL pattern finds them)."""
    out = _IN_TEXT.sub(lambda m: _redact_url(m.group(0)), text)
    for own in _secrets_of(str(getattr(url, "url", url))) if url is not None else ():
        out = out.replace(own, REDACTED)
    for name in SECRET_VARIABLES:
        secret = os.environ.get(name)
        if secret and len(secret) >= 8 and secret in out:
            out = out.replace(secret, REDACTED)
    return out


def _secrets_of(url: str) -> list[str]:
    """The userinfo and the query values of ``url``, longest first (a value inside another)."""
    parts = urlsplit(url)
    found = [parts.netloc.rpartition("@")[0]] if "@" in parts.netloc else []
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    return sorted((s for s in found if len(s) >= 4), key=len, reverse=True)


def _redact_url(url: str) -> str:
    url = _USERINFO.sub(lambda m: f"{m.group(1)}{REDACTED}@", url)
    if "?" not in url:
        return url
    head, _, query = url.partition("?")
    return head + _QUERY_VALUE.sub(lambda m: f"{m.group(1)}={REDACTED}", "?" + query)


@dataclass(frozen=True)
class ObjectUrl:
    """One object's URL (``s3://bucket/key``). ``str()`` is the redacted form, for messages;
    ``url`` the full one, for requests. ``name``, ``suffix`` and ``parent`` act as a path's."""

    url: str

    def __post_init__(self) -> None:
        scheme = scheme_of(self.url)
        if scheme is None or scheme not in PROTOCOLS:
            known = ", ".join(f"{s}://" for s in PROTOCOLS)
            raise DatasetError(f"URL: expected one of {known}, got {redact(self.url)!r}")
        if scheme not in ("http", "https") and "@" in urlsplit(self.url).netloc:
            # Not a form these stores take, and a library quoting the "bucket" would print it.
            raise DatasetError(
                f"URL: expected no credentials in a {scheme}:// URL (they come from the "
                f"environment, docs/storage.md), got {redact(self.url)!r}"
            )

    @property
    def scheme(self) -> str:
        return scheme_of(self.url) or ""

    @property
    def protocol(self) -> str:
        """fsspec's protocol for the scheme (``s3``, ``gcs``, ``http``, ...)."""
        return PROTOCOLS[self.scheme]

    @property
    def path(self) -> str:
        """The part after ``scheme://`` without the query (``bucket/key``)."""
        return self.url.split("://", 1)[1].split("?", 1)[0].split("#", 1)[0]

    @property
    def name(self) -> str:
        return self.path.rstrip("/").rpartition("/")[2]

    @property
    def suffix(self) -> str:
        name = self.name
        dot = name.rfind(".")
        return name[dot:] if 0 < dot < len(name) - 1 else ""

    @property
    def parent(self) -> ObjectUrl:
        """The folder holding the object (no query: a signature is for one object only)."""
        head = self.path.rstrip("/").rpartition("/")[0]
        return ObjectUrl(f"{self.scheme}://{head}/")

    def child(self, relative: str) -> ObjectUrl:
        """The object ``relative`` (``img/0.jpg``) under this folder."""
        return ObjectUrl(f"{self.scheme}://{self.path.rstrip('/')}/{relative}")

    def __str__(self) -> str:
        return redact(self.url)


def relative_key(value: object, where: str, what: str) -> str:
    """A manifest cell naming an object under the manifest's folder: relative, no ``..`` part,
    no NUL, no backslash, not empty; :class:`DatasetError` naming ``where`` otherwise."""
    if not isinstance(value, str):
        raise DatasetError(f"{where}: expected a relative path, got {type(value).__name__}")
    if not value or "\0" in value or "\\" in value:
        raise DatasetError(f"{where}: expected a relative path, got {value!r}")
    if value.startswith("/"):
        raise DatasetError(f"{where}: expected a path relative to {what}, got {value!r}")
    if any(part in ("..", ".") for part in value.split("/")) or "//" in value:
        raise DatasetError(f"{where}: expected a path inside {what}, got {value!r}")
    return value


__all__ = [
    "PACKAGES",
    "PROTOCOLS",
    "ObjectUrl",
    "is_remote",
    "is_url",
    "local_path",
    "redact",
    "relative_key",
    "scheme_of",
]
