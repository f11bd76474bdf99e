"""Decode files with DALI's CPU decoder and say which ones it rejects, and with what message.

``validate --deep`` runs this on the files PIL decoded, to catch the ones DALI still refuses
(a PNG without IEND, for one: PIL reads it, DALI fails). DALI cannot skip a sample: one bad file
fails the whole batch and leaves the pipeline unusable (see docs/bad-data.md). So batches run
whole while they succeed; a failed batch is decoded again one file at a time, each on a fresh
pipeline (building one costs ~5 ms), to find the culprits.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Hashable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

import numpy as np

from .checks import Check, bad

_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _dali_message(exc: BaseException) -> str:
    """The line of DALI's error that says what went wrong (after ``encountered:``)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    if "encountered:" in lines:
        after = lines[lines.index("encountered:") + 1 :]
        kept = [line for line in after if line and not line.startswith(("C++ context", "Current"))]
        if kept:
            return kept[0]
    return lines[-1] if lines else type(exc).__name__


@contextmanager
def _stderr_to_file() -> Iterator[list[str]]:
    """Capture what C++ code writes to file descriptor 2 while the block runs.

    nvImageCodec prints the useful part of a decode error ("Premature end of JPEG data") to
    stderr, not into the exception. Redirecting fd 2 affects the whole process, so it is used
    only around the single-file retries, which happen only after a batch failed.
    """
    captured: list[str] = []
    with tempfile.TemporaryFile(mode="w+b") as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield captured
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            text = _ANSI.sub("", sink.read().decode("utf-8", "replace"))
            for line in text.splitlines():
                line = line.strip().removeprefix("[ERROR]").strip()
                if line:
                    captured.append(line)


class DaliDecodeCheck:
    """Decode batches of encoded images on DALI's CPU decoder, as the loader does (RGB,
    libjpeg's fancy upsampling). ``check`` returns the failures only."""

    def __init__(self, threads: int = 1, batch_size: int = 32, quiet: bool = False):
        from ..availability import require_dali

        require_dali()
        self.threads = threads
        self.batch_size = batch_size
        #: Capture fd 2 around whole batches too: nvImageCodec prints lines such as "Input file
        #: read error" even for files it then decodes. For a CLI that owns the process.
        self.quiet = quiet
        self._pipe: Any = None

    def _build(self) -> Any:
        from nvidia.dali import fn, pipeline_def
        from nvidia.dali.types import DALIDataType, DALIImageType

        options: dict[str, Any] = {
            "batch_size": self.batch_size,
            "num_threads": self.threads,
            "device_id": None,  # CPU only: validation must work without a GPU
            "prefetch_queue_depth": 1,  # run(inputs) feeds one batch at a time
        }

        @pipeline_def(**options)
        def graph() -> Any:
            encoded = fn.external_source(
                name="encoded", batch=True, dtype=DALIDataType.UINT8, ndim=1
            )
            return fn.decoders.image(
                encoded, device="cpu", output_type=DALIImageType.RGB, jpeg_fancy_upsampling=True
            )

        pipe = graph()
        pipe.build()
        return pipe

    def _run(self, arrays: list[np.ndarray]) -> None:
        if self._pipe is None:
            self._pipe = self._build()
        try:
            self._pipe.run(encoded=arrays)
        except Exception:
            self._pipe = None  # DALI: "Current pipeline object is no longer valid"
            raise

    def check(self, items: Sequence[tuple[Hashable, bytes]]) -> dict[Hashable, Check]:
        """Decode ``(key, encoded)`` pairs (at most ``batch_size``); key -> failure."""
        if not items:
            return {}
        arrays = [np.frombuffer(data, dtype=np.uint8) for _, data in items]
        try:
            capture: AbstractContextManager[list[str]] = (
                _stderr_to_file() if self.quiet else nullcontext([])
            )
            with capture:
                self._run(arrays)
            return {}
        except Exception:
            pass  # one file or more failed: find which, one at a time
        failures: dict[Hashable, Check] = {}
        for (key, _), array in zip(items, arrays):
            with _stderr_to_file() as printed:
                try:
                    self._run([array])
                    continue
                except Exception as exc:
                    message = _dali_message(exc)
            detail = f"DALI: {message.rstrip(' :')}" + (f" ({printed[0]})" if printed else "")
            failures[key] = bad("decode_failed", detail, decoder="dali")
        return failures
