"""The fsspec filesystem of each protocol, built on first use with this package's settings.

fsspec and its backends are imported here only, when a remote object is first read, so neither
``import dali_pipelines`` nor loading a spec pays for them (nor needs them installed). Each
filesystem is a private instance (``skip_instance_cache``): the settings below are not imposed
on a user's own ``s3fs`` instances, and theirs do not leak into ours.

The settings make our retry loop the only one: S3's client and s3fs each retry on their own by
default (botocore up to 3 times, s3fs 5 with its own sleeps), which would multiply the attempts
and overrun any deadline; here each makes one attempt. Listings are not cached (a cached listing
could hide an object rewritten since). Per-request timeouts go to the clients (S3: connect and
read timeouts; HTTP: aiohttp's socket timeouts); the retry loop bounds every call as well.
"""

from __future__ import annotations

import importlib
import logging
from typing import Any

from ...errors import StorageError
from .options import StorageOptions
from .urls import PACKAGES, redact

logger = logging.getLogger(__name__)

#: The extra that installs what remote URLs need.
EXTRA = "dali-pipelines[remote]"


def _settings(protocol: str, options: StorageOptions) -> dict[str, Any]:
    """Our settings for ``protocol``'s filesystem (``fs_options`` override them)."""
    timeout = options.timeout_s
    if protocol == "s3":
        config = {
            "connect_timeout": timeout,
            "read_timeout": timeout,
            "retries": {"total_max_attempts": 1},
        }
        client: dict[str, Any] = {}
        if options.endpoint_url is not None:
            client["endpoint_url"] = options.endpoint_url
        return {
            "config_kwargs": config,
            "client_kwargs": client,
            "use_listings_cache": False,
        }
    if protocol in ("http", "https"):
        aiohttp = importlib.import_module("aiohttp")
        limits = aiohttp.ClientTimeout(total=None, sock_connect=timeout, sock_read=timeout)
        return {"client_kwargs": {"timeout": limits}, "use_listings_cache": False}
    if protocol == "gcs":
        return {"use_listings_cache": False}
    return {}


def _merge(ours: dict[str, Any], theirs: dict[str, Any]) -> dict[str, Any]:
    """``theirs`` over ``ours``; nested dicts (``client_kwargs``, ``config_kwargs``) merged."""
    out = dict(ours)
    for key, value in theirs.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _missing(protocol: str, exc: BaseException) -> StorageError:
    package = PACKAGES.get(protocol, "fsspec")
    return StorageError(
        f"{protocol}:// URLs: expected the {package} package installed, got {exc} (pip install "
        f"'{EXTRA}' for s3:// and http(s)://; pip install gcsfs for gs://)"
    )


#: Library loggers that write request URLs at DEBUG (fsspec's HTTP logs each one): their
#: records are redacted like our messages, so a signed URL's signature is not logged either.
_URL_LOGGERS = ("fsspec", "fsspec.http", "fsspec.asyn", "s3fs", "gcsfs")


class _Redacting(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        shown = redact(text)
        if shown != text:
            record.msg, record.args = shown, None
        return True


def _redact_library_logs() -> None:
    for name in _URL_LOGGERS:
        logger_ = logging.getLogger(name)
        if not any(isinstance(f, _Redacting) for f in logger_.filters):
            logger_.addFilter(_Redacting())


def make_filesystem(protocol: str, options: StorageOptions) -> Any:
    """A new fsspec filesystem for ``protocol`` with our settings; :class:`StorageError`
    naming the package to install when the protocol's backend is missing."""
    _redact_library_logs()
    try:
        fsspec = importlib.import_module("fsspec")
    except ImportError as exc:
        raise _missing(protocol, exc) from None
    kwargs = _merge(_settings(protocol, options) if protocol != "file" else {}, options.fs_options)
    try:
        fs = fsspec.filesystem(protocol, skip_instance_cache=True, **kwargs)
    except ImportError as exc:
        raise _missing(protocol, exc) from None
    if protocol in ("s3", "gcs") and "retries" not in options.fs_options:
        fs.retries = 1  # s3fs/gcsfs: a class attribute, one attempt per call (ours retry)
    if protocol == "s3":
        # The client is built now, outside any request's timeout: building it loads botocore's
        # service models on the event loop (~0.3 s), which a short first timeout would not fit.
        fs.connect()
    logger.debug("opened an fsspec %s filesystem", protocol)
    return fs


__all__ = ["EXTRA", "make_filesystem"]
