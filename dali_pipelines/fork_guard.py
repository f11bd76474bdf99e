"""The one fork/GC guard: no collectable DALI pipeline may reach a forked child.

A DALI pipeline that the garbage collector finalizes inside a forked child hangs forever (its
executor's destructor waits for threads the child does not have). Pipelines end up in
reference cycles (a ``python_function`` op and its pipeline hold each other; an exception's
traceback frames hold a pipeline), so before forking workers the parent collects, and freezes
what survives so a child's collections never look at the parent's objects; an executor that
drops a pipeline holding a ``python_function`` collects right away, in this process.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def fork_guard(freeze: bool = True) -> Iterator[None]:
    """Around code that forks worker processes: collect now, and (``freeze``) keep what is
    left out of the children's collections. (torch's DataLoader workers are not frozen: with
    frozen garbage each of their shutdowns waited out torch's 5 s join timeout.)"""
    gc.collect()
    if freeze:
        gc.freeze()
    try:
        yield
    finally:
        if freeze:
            gc.unfreeze()


def release_cycles() -> None:
    """Collect now: after dropping a pipeline that may sit in a reference cycle."""
    gc.collect()
