"""Run a probe in a child process under a memory and a time limit.

A hostile input that regresses must fail its test, not take the machine down: the child gets
``RLIMIT_AS`` (address space) and a wall-clock timeout; the parent reports what happened.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PRELUDE = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
sys.path.insert(0, {root!r})
"""


@dataclass(frozen=True)
class Outcome:
    returncode: int
    stdout: str
    stderr: str
    timed_out: bool

    @property
    def last_line(self) -> str:
        lines = [ln for ln in self.stdout.splitlines() if ln.strip()]
        return lines[-1] if lines else ""


def run_limited(code: str, *, memory_mb: int = 6144, seconds: float = 60.0) -> Outcome:
    """Run ``code`` (dedented) in a fresh Python with ``memory_mb`` of address space.

    torch and DALI reserve large address ranges at import: probes that import them need ~4 GiB
    of address space to import and ~6 GiB to run a pipeline (measured: imports leave ~600 MiB
    resident, a 2-thread imagenet_train loader ~900 MiB); probes of spec loading alone
    run under far less. glibc's per-thread malloc arenas (64 MiB of address space each) are
    capped so DALI's threads fit under the limit.
    """
    limit = memory_mb * 1024 * 1024
    program = _PRELUDE.format(limit=limit, root=str(ROOT)) + textwrap.dedent(code)
    try:
        done = subprocess.run(
            [sys.executable, "-c", program],
            capture_output=True,
            text=True,
            timeout=seconds,
            cwd=ROOT,
            env={**os.environ, "MALLOC_ARENA_MAX": "2"},
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Outcome(-9, out, err, True)
    return Outcome(done.returncode, done.stdout, done.stderr, False)
