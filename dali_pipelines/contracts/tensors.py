"""Reading a batch's tensors without importing torch: kind, memory format, value samples.

torch is never imported here: a batch that holds torch tensors has imported it already, so
``sys.modules`` tells whether a value can be one.
"""

from __future__ import annotations

import sys
from functools import lru_cache
from typing import Any, Literal

import numpy as np

ValuesMode = Literal["off", "first", "strided", "full"]

#: Elements read by a strided value check (whatever the batch size).
STRIDED_SAMPLE = 1 << 16

_INT_DOMAIN = {
    "uint8": (0, 255),
    "int8": (-128, 127),
    "int16": (-(2**15), 2**15 - 1),
    "int32": (-(2**31), 2**31 - 1),
    "int64": (-(2**63), 2**63 - 1),
}


def _kind(x: Any) -> str | None:
    if isinstance(x, np.ndarray):
        return "numpy"
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return "torch"
    return None


def _contiguous(x: Any, kind: str) -> bool:
    return bool(x.is_contiguous()) if kind == "torch" else bool(x.flags.c_contiguous)


def _channels_last(x: Any, kind: str) -> bool:
    """NHWC in memory for a 4-d NCHW tensor (what ``torch.channels_last`` means)."""
    if x.ndim != 4:
        return False
    if kind == "torch":
        return bool(x.is_contiguous(memory_format=sys.modules["torch"].channels_last))
    return bool(x.transpose(0, 2, 3, 1).flags.c_contiguous)


def _strides(x: Any, kind: str) -> tuple[int, ...]:
    if kind == "torch":
        return tuple(x.stride())
    return tuple(s // x.itemsize for s in x.strides)


@lru_cache(maxsize=256)
def _prime_at_least(n: int) -> int:
    n = max(n, 2)
    while any(n % k == 0 for k in range(2, int(n**0.5) + 1)):
        n += 1
    return n


def _flat(x: Any, kind: str) -> Any:
    """All elements as a 1-d view in memory order (a copy only for exotic strides)."""
    if kind == "numpy":
        return x.ravel(order="K")
    if x.is_contiguous():
        return x.view(-1)
    if _channels_last(x, kind):
        return x.permute(0, 2, 3, 1).reshape(-1)
    return x.reshape(-1)


def _sample(x: Any, kind: str, values: ValuesMode, offset: int) -> tuple[Any, str]:
    if values == "first" and x.ndim > 0 and x.shape[0] > 0:
        return x[0], " (first sample)"
    if values == "strided":
        flat = _flat(x, kind)
        stride = _prime_at_least(flat.shape[0] // STRIDED_SAMPLE) if flat.shape[0] > 0 else 1
        if stride > 2:
            return flat[offset % stride :: stride], " (strided sample)"
    return x, ""


#: Up to this many elements, a CPU tensor's min/max runs in NumPy on the calling thread.
SMALL_SAMPLE = 1 << 18


def _min_max(x: Any, kind: str) -> tuple[float, float]:
    if kind == "numpy":
        if x.size <= SMALL_SAMPLE:
            x = np.ascontiguousarray(x)
        return float(x.min()), float(x.max())
    torch = sys.modules["torch"]
    if x.device.type == "cpu" and x.dtype != torch.bfloat16 and x.numel() <= SMALL_SAMPLE:
        # torch splits reductions over its intra-op threads; on a loaded machine (DALI's
        # threads busy) waiting for a descheduled helper thread costs milliseconds for work of
        # microseconds. Strided and first-sample checks are small: keep them on this thread.
        # One strided gather into a compact copy, then two passes that stay in cache.
        arr = np.ascontiguousarray(x.detach().numpy())
        return float(arr.min()), float(arr.max())
    lo, hi = torch.aminmax(x)
    # One transfer instead of two on GPU.
    out = torch.stack((lo, hi)).double().tolist()
    return out[0], out[1]
