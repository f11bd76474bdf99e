"""Python ops the hybrid tests register (importing this module registers them once a process)."""

from __future__ import annotations

import numpy as np

from dali_pipelines import register_python_op


@register_python_op("test_swap")
def channel_swap(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """RGB -> BGR: cheap, deterministic, visible."""
    return np.ascontiguousarray(image[:, :, ::-1])


@register_python_op("test_noise")
def noise(image: np.ndarray, rng: np.random.Generator, amount: int = 8) -> np.ndarray:
    """Adds per-sample noise drawn from ``rng``: random, so determinism is observable."""
    delta = rng.integers(-amount, amount + 1, size=image.shape)
    return np.clip(image.astype(np.int16) + delta, 0, 255).astype(np.uint8)


@register_python_op("test_fail")
def always_fails(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    raise ValueError("this stage always fails")


@register_python_op("test_corner", size=(16, 16))
class Corner:
    """A class op with params: a white ``side`` x ``side`` corner, resized to 16 x 16 first."""

    def __init__(self, side: int = 4):
        self.side = side

    def __call__(self, image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = np.zeros((16, 16, image.shape[2]), dtype=image.dtype)
        out[:, :] = image[:16, :16] if image.shape[0] >= 16 and image.shape[1] >= 16 else 0
        out[: self.side, : self.side] = 255
        return out
