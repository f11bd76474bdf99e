"""The torchvision.io decoder: what a torch user who tuned their pipeline decodes with.

``backend="reference-tvio"`` is the reference backend with this decoder instead of PIL: the
stronger baseline DALI must beat (libjpeg-turbo straight into a uint8 CHW tensor).
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

_JPEG_MAGIC = b"\xff\xd8\xff"


def decode_tvio(data: np.ndarray, color: str) -> torch.Tensor:
    """Decode encoded bytes to a uint8 CHW tensor, EXIF orientation applied like the PIL path.

    JPEGs go through ``decode_jpeg`` (the point of this baseline); other formats (PNG, ...) fall
    back to ``decode_image`` so a user's mixed folder still runs. Grayscale is libjpeg's luma
    channel (what ``ImageReadMode.GRAY`` gives), within a few levels of PIL's RGB->L.
    """
    from torchvision.io import ImageReadMode, decode_image, decode_jpeg

    # torch refuses to share read-only numpy memory (ImageFolder returns a view of bytes);
    # one copy of a ~40 KiB file is negligible next to decoding it.
    raw = torch.from_numpy(data if data.flags.writeable else data.copy())
    mode = ImageReadMode.RGB if color == "rgb" else ImageReadMode.GRAY
    decode = decode_jpeg if bytes(data[:3]) == _JPEG_MAGIC else decode_image
    with warnings.catch_warnings():
        # torchvision 0.29 deprecates its decoders (for TorchCodec) with a warning per call;
        # they are still what tuned torch pipelines run, which is what this baseline is for.
        warnings.simplefilter("ignore", DeprecationWarning)
        return decode(raw, mode=mode, apply_exif_orientation=True)
