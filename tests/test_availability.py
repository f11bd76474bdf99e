"""DALI is an extra: the missing-DALI hint names the wheel for torch's CUDA version, and the
package works without DALI (specs, contracts, the reference backend), which is what lets the
base install leave the 400-800 MB wheel out (docs/install.md)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch

from dali_pipelines import availability
from dali_pipelines.errors import BackendUnavailableError


@pytest.mark.parametrize(
    ("cuda", "wheel", "extra"),
    [
        ("13.0", "nvidia-dali-cuda130", "cuda13"),
        ("13.2", "nvidia-dali-cuda130", "cuda13"),
        ("12.8", "nvidia-dali-cuda120", "cuda12"),
        ("12.1", "nvidia-dali-cuda120", "cuda12"),
        (None, "nvidia-dali-cuda120", "cuda12"),
        ("11.8", "nvidia-dali-cuda120", "cuda12"),
        ("rocm", "nvidia-dali-cuda120", "cuda12"),
    ],
)
def test_hint_names_the_wheel_for_torchs_cuda(
    monkeypatch: pytest.MonkeyPatch, cuda: str | None, wheel: str, extra: str
) -> None:
    monkeypatch.setattr(torch.version, "cuda", cuda)
    assert availability.torch_cuda_version() == cuda
    hint = availability.install_hint()
    assert f"`pip install {wheel}`" in hint
    assert f"`pip install 'dali-pipelines[{extra}]'`" in hint
    assert "docs/install.md" in hint
    if cuda is None:
        assert "CPU-only" in hint
    else:
        assert f"CUDA {cuda}" in hint


def test_require_dali_says_which_wheel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(availability, "dali_import_error", lambda: "ImportError: no nvidia")
    monkeypatch.setattr(torch.version, "cuda", "13.0")
    with pytest.raises(BackendUnavailableError) as info:
        availability.require_dali()
    message = str(info.value)
    assert "ImportError: no nvidia" in message and "pip install nvidia-dali-cuda130" in message
    assert message.endswith("or use backend='reference'")


def test_extras_match_the_hint() -> None:
    import tomllib

    pyproject = Path(__file__).parents[1] / "pyproject.toml"
    project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
    extras = project["optional-dependencies"]
    for wheel, extra in availability.DALI_WHEELS.values():
        assert [r.split(">=")[0] for r in extras[extra]] == [wheel]
    assert not any(r.startswith("nvidia-dali") for r in project["dependencies"])


SCRIPT = """
import sys, warnings
sys.modules["nvidia.dali"] = None  # as if no DALI wheel were installed
import numpy as np
from PIL import Image
from dali_pipelines import DataLoader, ImageFolder, load_spec
from dali_pipelines.availability import dali_available
import dali_pipelines.contracts

root = sys.argv[1]
for label in ("a", "b"):
    for i in range(2):
        path = f"{root}/{label}/{i}.jpg"
        Image.fromarray(np.full((40, 48, 3), 60 * i, np.uint8)).save(path)
assert not dali_available()
load_spec("imagenet_val")
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    loader = DataLoader(ImageFolder(root), "imagenet_val", batch_size=2, num_threads=1)
assert loader.backend == "reference", loader.backend
assert any("pip install nvidia-dali-cuda1" in str(w.message) for w in caught)
shapes = [tuple(images.shape) for images, _labels in loader]
print(shapes)
"""


@pytest.mark.slow
def test_works_without_dali(tmp_path: Path) -> None:
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "[(2, 3, 224, 224), (2, 3, 224, 224)]"
