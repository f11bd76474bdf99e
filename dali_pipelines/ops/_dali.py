"""Small name -> DALI/torchvision enum maps shared by the op modules (imports stay lazy)."""

from __future__ import annotations

from typing import Any


def dali_dtype(name: str) -> Any:
    import nvidia.dali.types as types

    return {
        "uint8": types.UINT8,
        "float32": types.FLOAT,
        "float16": types.FLOAT16,
        # DALI has no bfloat16: produce float32 and let the backend cast in torch.
        "bfloat16": types.FLOAT,
    }[name]


def interp_type(name: str) -> Any:
    import nvidia.dali.types as types

    return {
        "nearest": types.INTERP_NN,
        "bilinear": types.INTERP_LINEAR,
        "bicubic": types.INTERP_CUBIC,
    }[name]


def tv_interpolation(name: str) -> Any:
    from torchvision.transforms import InterpolationMode

    return {
        "nearest": InterpolationMode.NEAREST,
        "bilinear": InterpolationMode.BILINEAR,
        "bicubic": InterpolationMode.BICUBIC,
    }[name]


def torch_dtype(name: str) -> Any:
    import torch

    return {
        "uint8": torch.uint8,
        "float32": torch.float32,
        "float16": torch.float16,
        "bfloat16": torch.bfloat16,
    }[name]
