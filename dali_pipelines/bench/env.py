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


def dataset_info(folder: ImageFolder) -> DatasetInfo:
    """File count, bytes and mean pixel size of an ImageFolder (headers only: ~20 us a file)."""
    total_bytes = 0
    widths = heights = 0
    for path, _label in folder.samples:
        total_bytes += os.path.getsize(path)
        with Image.open(path) as im:
            w, h = im.size
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
    )


def collect_env(dataset: DatasetInfo) -> EnvInfo:
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
        dataset=dataset,
    )
