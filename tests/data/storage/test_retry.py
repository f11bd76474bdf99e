"""The retry loop on a fake clock: backoff with jitter, the retry count, the deadline, and what
is never retried."""

from __future__ import annotations

import errno
from collections.abc import Callable

import pytest

from dali_pipelines.data.storage.options import StorageOptions
from dali_pipelines.data.storage.retry import ShortReadError, backoff, transient, with_retries
from dali_pipelines.data.storage.urls import ObjectUrl
from dali_pipelines.errors import ObjectNotFoundError, StorageError

URL = ObjectUrl("s3://bucket/shard-000001.tar")


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def failing(
    errors: list[BaseException], clock: Clock, cost: float = 0.0
) -> Callable[[float], bytes]:
    timeouts: list[float] = []

    def call(timeout: float) -> bytes:
        timeouts.append(timeout)
        clock.now += min(cost, timeout)  # a real request is cut at its timeout
        if errors:
            raise errors.pop(0)
        return b"ok"

    call.timeouts = timeouts  # type: ignore[attr-defined]
    return call


def run(call: Callable[[float], bytes], options: StorageOptions, clock: Clock) -> bytes:
    return with_retries(
        call, URL, "bytes 0-9", options, clock=clock, sleep=clock.sleep, draw=lambda: 0.5
    )


def test_transient_failures_are_retried_with_growing_backoff() -> None:
    clock = Clock()
    options = StorageOptions(retries=5, backoff_s=0.1, backoff_max_s=0.3)
    errors: list[BaseException] = [
        TimeoutError(),
        ConnectionResetError(),
        OSError(errno.EIO, "500"),
    ]
    assert run(failing(errors, clock), options, clock) == b"ok"
    assert clock.sleeps == [0.05, 0.1, 0.15]  # half (the draw) of 0.1, 0.2, then the cap 0.3


def test_full_jitter_stays_under_the_ceiling() -> None:
    options = StorageOptions(backoff_s=1.0, backoff_max_s=4.0)
    assert backoff(options, 1, lambda: 0.999) < 1.0 and backoff(options, 5, lambda: 0.999) < 4.0
    assert backoff(options, 3, lambda: 0.0) == 0.0


def test_the_last_cause_and_the_object_are_named_after_the_retries() -> None:
    clock = Clock()
    options = StorageOptions(retries=2, backoff_s=0.0)
    errors: list[BaseException] = [ShortReadError("expected 10 bytes, got 4")] * 5
    with pytest.raises(StorageError) as caught:
        run(failing(errors, clock), options, clock)
    assert str(caught.value) == (
        "s3://bucket/shard-000001.tar: bytes 0-9: expected the object within 3 attempts "
        "(StorageOptions retries=2, deadline_s=120), got ShortReadError: expected 10 bytes, got 4"
    )
    assert caught.value.url == "s3://bucket/shard-000001.tar"


def test_the_deadline_bounds_attempts_and_cuts_the_last_timeout() -> None:
    clock = Clock()
    options = StorageOptions(retries=100, timeout_s=4.0, deadline_s=10.0, backoff_s=1.0)
    call = failing([TimeoutError()] * 100, clock, cost=3.0)
    with pytest.raises(StorageError, match="within 3 attempts"):
        run(call, options, clock)
    assert clock.now <= 10.0
    assert call.timeouts[0] == 4.0 and call.timeouts[-1] < 4.0  # type: ignore[attr-defined]


def test_missing_and_forbidden_are_not_retried() -> None:
    clock = Clock()
    with pytest.raises(ObjectNotFoundError, match="expected an existing object") as caught:
        run(failing([FileNotFoundError("nope")], clock), StorageOptions(), clock)
    assert isinstance(caught.value, FileNotFoundError)  # a bad sample for the loader
    with pytest.raises(StorageError, match=r"expected the object, got PermissionError: denied"):
        run(failing([PermissionError("denied")], clock), StorageOptions(), clock)
    with pytest.raises(StorageError, match="got ValueError"):
        run(failing([ValueError("a bug")], clock), StorageOptions(), clock)
    assert clock.sleeps == []


def test_classification() -> None:
    class ClientResponseError(Exception):  # as aiohttp's, by module and status
        __module__ = "aiohttp.client_exceptions"

        def __init__(self, status: int):
            super().__init__(status)
            self.status = status

    assert transient(ClientResponseError(503)) and transient(ClientResponseError(429))
    assert not transient(ClientResponseError(404)) and not transient(ClientResponseError(403))
    missing = FileNotFoundError("https://h/x")
    missing.__cause__ = ClientResponseError(500)  # fsspec's HTTP: any failure as not found
    clock = Clock()
    assert run(failing([missing], clock), StorageOptions(), clock) == b"ok"
