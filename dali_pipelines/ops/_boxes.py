"""Box rules of the geometric ops: boxes (K, 4) x1, y1, x2, y2 in pixels, as torchvision v2
moves ``BoundingBoxes`` (XYXY): flips mirror, crops shift and clamp to the window, resizes scale
and clamp to the new canvas. Pure NumPy on the drawn parameters, run in the loader's source
callback, so boxes follow exactly the pixels DALI cuts."""

from __future__ import annotations

import numpy as np

from .base import Size


def flip_boxes(boxes: np.ndarray, size: Size, horizontal: bool) -> np.ndarray:
    out = boxes.copy()
    if horizontal:
        out[:, 0], out[:, 2] = size[1] - boxes[:, 2], size[1] - boxes[:, 0]
    else:
        out[:, 1], out[:, 3] = size[0] - boxes[:, 3], size[0] - boxes[:, 1]
    return out


def clamp_boxes(boxes: np.ndarray, size: Size) -> np.ndarray:
    """Clamp to the canvas (torchvision's "soft" clamping after a crop, pad or resize)."""
    height, width = size
    out = boxes.copy()
    out[:, 0::2] = out[:, 0::2].clip(0, width)
    out[:, 1::2] = out[:, 1::2].clip(0, height)
    return out


def crop_boxes(boxes: np.ndarray, top: int, left: int, height: int, width: int) -> np.ndarray:
    """Boxes in the coordinates of the window (top, left, height, width); a window reaching
    outside the image (negative start: padding) shifts them the other way."""
    shifted = boxes - np.array([left, top, left, top], dtype=boxes.dtype)
    return clamp_boxes(shifted, (height, width))


def resize_boxes(boxes: np.ndarray, size: Size, out: Size) -> np.ndarray:
    scale_y, scale_x = out[0] / size[0], out[1] / size[1]
    scaled = boxes * np.array([scale_x, scale_y, scale_x, scale_y], dtype=boxes.dtype)
    return clamp_boxes(scaled, out)
