"""Retries with exponential backoff and full jitter, under a per-request timeout and a deadline.

Every request of the storage layer goes through :func:`with_retries`. A transient failure (a
timeout, a refused or cut connection, an HTTP 5xx, a body shorter than announced) is tried
again after ``backoff_s * 2**k`` seconds scaled by a uniform draw in [0, 1) ("full jitter":
many workers failing at once do not retry in step), capped at ``backoff_max_s``. The last
attempt's timeout is cut to what is left of the deadline, and no attempt starts past it, so a
read fails within ``deadline_s`` (plus one request's own latency at worst). A missing object is
not retried (:class:`ObjectNotFoundError`), nor are refused credentials or a local mistake.

The final :class:`StorageError` names the object (redacted), what was asked, the attempts and
the last cause, e.g. ``s3://bucket/shard-000001.tar: bytes 1024-2047: expected the object
within 6 attempts (StorageOptions retries=5, deadline_s=120), got OSError: ...``.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import TypeVar

from ...errors import ObjectNotFoundError, StorageError
from .options import StorageOptions
from .urls import ObjectUrl, redact

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Modules whose exceptions are network trouble (whatever their class): aiohttp's payload and
#: connection errors, botocore's endpoint and read errors, urllib3/requests (gcsfs, http).
_NETWORK_MODULES = ("aiohttp", "botocore", "aiobotocore", "urllib3", "requests", "http.client")


class ShortReadError(OSError):
    """A response whose body ended before its announced length (a connection cut mid-object)."""


def http_status(error: BaseException) -> int | None:
    """The HTTP status a client's exception carries (aiohttp's ``status``, botocore's
    response metadata, requests' response), else ``None``."""
    status = getattr(error, "status", None)
    if isinstance(status, int):
        return status
    response = getattr(error, "response", None)
    if isinstance(response, dict):
        code = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return code if isinstance(code, int) else None
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


def transient(error: BaseException) -> bool:
    """Whether ``error`` may pass on its own: worth another attempt."""
    if isinstance(error, FileNotFoundError):
        return not _missing(error)
    if isinstance(error, PermissionError | IsADirectoryError):
        return False
    status = http_status(error)
    if status is not None and 400 <= status < 500 and status not in (408, 429):
        return False  # the request is wrong (missing, forbidden): asking again changes nothing
    if isinstance(error, OSError | TimeoutError | asyncio.TimeoutError | ConnectionError):
        return True
    chain: BaseException | None = error
    while chain is not None:
        module = type(chain).__module__
        status = http_status(chain)
        if status is not None and 400 <= status < 500 and status not in (408, 429):
            return False
        if type(chain).__name__ == "ParamValidationError":  # botocore: a malformed request
            return False
        if any(module == m or module.startswith(m + ".") for m in _NETWORK_MODULES):
            return True
        if type(chain).__name__ == "FSTimeoutError":
            return True
        chain = chain.__cause__
    return False


def _missing(error: BaseException) -> bool:
    """A missing object, not a network failure that a client reported as one (fsspec's HTTP
    filesystem raises ``FileNotFoundError`` from any failed request, the cause chained)."""
    if not isinstance(error, FileNotFoundError):
        return False
    cause = error.__cause__
    return cause is None or isinstance(cause, FileNotFoundError) or not transient(cause)


def describe(error: BaseException, timeout: float | None = None, url: object = None) -> str:
    """``Type: message`` of ``error``, redacted (``url``'s own secrets included) and kept
    short; a timeout says how long."""
    text = redact(str(error), url).strip().replace("\n", " ")
    if len(text) > 300:
        text = text[:297] + "..."
    name = type(error).__name__
    if not text and timeout is not None and "Timeout" in name:
        text = f"no answer within {timeout:.3g} s"
    return f"{name}: {text}" if text else name


def backoff(options: StorageOptions, attempt: int, draw: Callable[[], float]) -> float:
    """Seconds to wait before attempt ``attempt + 1`` (``attempt`` >= 1): full jitter."""
    ceiling = min(options.backoff_max_s, options.backoff_s * 2 ** (attempt - 1))
    return ceiling * draw()


def with_retries(
    call: Callable[[float], T],
    url: ObjectUrl,
    what: str,
    options: StorageOptions,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    draw: Callable[[], float] = random.random,
) -> T:
    """``call(timeout_s)`` until it succeeds, a permanent failure, or the budget is spent.

    ``what`` says what was asked (``"bytes 0-511"``, ``"size"``) in messages and logs.
    """
    start = clock()
    deadline = start + options.deadline_s
    attempt = 0
    causes: list[str] = []  # the distinct causes, last first in the final message
    while True:
        attempt += 1
        timeout = max(min(options.timeout_s, deadline - clock()), 1e-3)
        try:
            return call(timeout)
        except Exception as exc:
            if _missing(exc):
                raise ObjectNotFoundError(
                    f"{url}: {what}: expected an existing object, got {describe(exc, url=url)}",
                    url=str(url),
                ) from None
            cause = describe(exc, timeout, url)
            if not transient(exc):  # refused credentials, a local mistake: no second try
                raise _failure(url, what, 0, options, [cause]) from None
            causes = [cause, *(c for c in causes if c != cause)]
            wait = backoff(options, attempt, draw)
            if attempt > options.retries or clock() + wait >= deadline:
                raise _failure(url, what, attempt, options, causes) from None
            retrying = "%s: %s: attempt %d failed (%s); retrying in %.2f s"
            logger.info(retrying, url, what, attempt, cause, wait)
            sleep(wait)


def _failure(
    url: ObjectUrl, what: str, attempts: int, options: StorageOptions, causes: list[str]
) -> StorageError:
    """The final error (``attempts`` 0: a permanent failure) with the last cause and the
    other ones seen; their text only, not the exceptions (a library's may hold the request)."""
    budget = f"StorageOptions retries={options.retries}, deadline_s={options.deadline_s:g}"
    tries = "1 attempt" if attempts == 1 else f"{attempts} attempts"
    within = f" within {tries} ({budget})" if attempts else ""
    earlier = f" (before it: {'; '.join(causes[1:3])})" if len(causes) > 1 else ""
    message = f"{url}: {what}: expected the object{within}, got {causes[0]}{earlier}"
    logger.warning("%s", message)
    return StorageError(message, url=str(url))


__all__ = ["ShortReadError", "backoff", "describe", "http_status", "transient", "with_retries"]
