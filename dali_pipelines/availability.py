"""Whether DALI can be imported here, and a message that says how to fix it when not."""

from __future__ import annotations

import functools

from .errors import BackendUnavailableError

INSTALL_HINT = (
    "install it with `pip install nvidia-dali-cuda120` (Linux x86_64/aarch64 only), or use "
    "backend='reference'"
)


@functools.cache
def dali_import_error() -> str | None:
    """``None`` when ``import nvidia.dali`` works, else the reason it failed."""
    try:
        import nvidia.dali  # noqa: F401
    except Exception as exc:  # any failure (missing wheel, broken .so) means unusable
        return f"{type(exc).__name__}: {exc}"
    return None


def dali_available() -> bool:
    return dali_import_error() is None


def require_dali() -> None:
    reason = dali_import_error()
    if reason is not None:
        raise BackendUnavailableError(
            f"backend='dali': NVIDIA DALI cannot be imported ({reason}); {INSTALL_HINT}"
        )


@functools.cache
def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())
