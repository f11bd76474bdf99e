"""What a benchmark ran on: machine, library versions and the dataset's size.

Numbers are only comparable between reports whose environments match, so the report records
everything that moves throughput: CPU and usable cores, decoder libraries, image sizes.
"""

from __future__ import annotations

import os
import platform
import sys
from importlib import metadata

from PIL import Image

from ..data import ImageFolder
from .report import DatasetInfo, EnvInfo


def cpu_model() -> str:
    """The CPU's marketing name (``/proc/cpuinfo`` on Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def usable_cpus() -> int:
    # Containers and taskset limit the cores a process may use; os.cpu_count() ignores that.
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _version(*distributions: str) -> str:
    for name in distributions:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return "not installed"


def _dali_version() -> str:
    module = sys.modules.get("nvidia.dali")
    if module is not None and hasattr(module, "__version__"):
        return str(module.__version__)
    return _version(
        "nvidia-dali-cuda120", "nvidia-dali-cuda130", "nvidia-dali-cuda110", "nvidia-dali"
    )


def _gpu() -> tuple[bool, str | None]:
    import torch

    if not torch.cuda.is_available():
        return False, None
    return True, torch.cuda.get_device_name(0)


# The IJG (libjpeg) luminance table that quality 50 uses; encoders scale it for other qualities.
_IJG_LUMINANCE = (
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
)  # fmt: skip


def _ijg_table_sum(quality: int) -> int:
    scale = 5000 // quality if quality < 50 else 200 - 2 * quality
    return sum(min(255, max(1, (q * scale + 50) // 100)) for q in _IJG_LUMINANCE)


_QUALITY_BY_SUM = {q: _ijg_table_sum(q) for q in range(1, 101)}


def jpeg_quality(quantization: dict[int, list[int]] | None) -> int | None:
    """The IJG quality whose luminance table is closest to the file's (sum of entries).

    Decode cost grows with quality (fewer zero coefficients), so the report records it. The
    sum does not depend on the table's zigzag or natural order; encoders other than libjpeg
    get the nearest IJG quality, which is what matters for comparing datasets.
    """
    if not quantization or 0 not in quantization:
        return None
    total = sum(quantization[0])
    return min(_QUALITY_BY_SUM, key=lambda q: (abs(_QUALITY_BY_SUM[q] - total), -q))


def dataset_info(folder: ImageFolder) -> DatasetInfo:
    """File count, bytes, mean pixel size and JPEG quality (headers only: ~30 us a file)."""
    total_bytes = 0
    widths = heights = 0
    qualities: list[int] = []
    for path, _label in folder.samples:
        total_bytes += os.path.getsize(path)
        with Image.open(path) as im:
            w, h = im.size
            if im.format == "JPEG":
                quality = jpeg_quality(getattr(im, "quantization", None))
                if quality is not None:
                    qualities.append(quality)
        widths += w
        heights += h
    n = len(folder)
    return DatasetInfo(
        root=str(folder.root),
        images=n,
        classes=len(folder.classes),
        total_bytes=total_bytes,
        mean_bytes=total_bytes / n,
        mean_width=widths / n,
        mean_height=heights / n,
        jpeg_fraction=len(qualities) / n,
        jpeg_quality=sum(qualities) / len(qualities) if qualities else None,
    )


def load_average() -> list[float] | None:
    """1/5/15-minute load averages: other work on the machine explains a noisy run."""
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def collect_env(dataset: DatasetInfo, load_before: list[float] | None = None) -> EnvInfo:
    import torch

    import dali_pipelines

    cuda, gpu = _gpu()
    return EnvInfo(
        cpu_model=cpu_model(),
        cpu_cores=os.cpu_count() or 1,
        cpu_usable=usable_cpus(),
        platform=platform.platform(),
        python=platform.python_version(),
        torch=_version("torch"),
        torchvision=_version("torchvision"),
        dali=_dali_version(),
        pillow=_version("pillow", "Pillow"),
        numpy=_version("numpy"),
        dali_pipelines=dali_pipelines.__version__,
        cuda_available=cuda,
        gpu=gpu,
        torch_threads=torch.get_num_threads(),
        load_before=load_before,
        load_after=load_average(),
        dataset=dataset,
    )
