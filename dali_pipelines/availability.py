"""Whether DALI can be imported here, and a message that says how to fix it when not.

DALI is an extra (docs/install.md): ``dali-pipelines[cuda12]`` (nvidia-dali-cuda120) or
``[cuda13]`` (nvidia-dali-cuda130). The hint names the wheel that matches the CUDA version the
installed torch was built for, so torch and DALI share one CUDA stack.
"""

from __future__ import annotations

import functools

from .errors import BackendUnavailableError

#: DALI wheel and this package's extra per CUDA major version; CUDA 12 is the default.
DALI_WHEELS = {12: ("nvidia-dali-cuda120", "cuda12"), 13: ("nvidia-dali-cuda130", "cuda13")}
DEFAULT_CUDA_MAJOR = 12


def torch_cuda_version() -> str | None:
    """``torch.version.cuda`` ("13.0"), or None for a CPU-only torch (or no torch)."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return None
    return torch.version.cuda


def dali_wheel(cuda: str | None) -> tuple[str, str]:
    """(wheel, extra) for a torch built for CUDA ``cuda``: 13.x -> cuda130, 12.x -> cuda120;
    None (CPU-only torch), an unparsable or an older version -> the CUDA 12 wheel."""
    try:
        major = int(str(cuda).split(".")[0])
    except ValueError:
        major = DEFAULT_CUDA_MAJOR
    return DALI_WHEELS.get(major, DALI_WHEELS[DEFAULT_CUDA_MAJOR])


def install_hint() -> str:
    """The pip commands that install DALI here: the wheel matching the CUDA version torch was
    built for, with the reason."""
    cuda = torch_cuda_version()
    wheel, extra = dali_wheel(cuda)
    if cuda is None:
        why = "torch is CPU-only: either DALI wheel runs on the CPU; CUDA 12 shown"
    else:
        why = f"torch is built for CUDA {cuda}"
    return (
        f"`pip install {wheel}` or `pip install 'dali-pipelines[{extra}]'` ({why}; Linux "
        "x86_64/aarch64 only; see docs/install.md)"
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
            f"backend='dali': NVIDIA DALI cannot be imported ({reason}); install it with "
            f"{install_hint()}, or use backend='reference'"
        )


@functools.cache
def cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())
