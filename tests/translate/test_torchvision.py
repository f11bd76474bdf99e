"""from_torchvision: every transform maps to a spec op or stays a Python stage, nothing dropped."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision.transforms as v1
from torchvision.transforms import v2

from dali_pipelines import DataLoader, ImageFolder, dump_spec, register_python_op
from dali_pipelines.errors import SpecError
from dali_pipelines.ops.python import PythonParams
from dali_pipelines.translate.torchvision import from_torchvision, translate

MEAN, STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


class Seen:
    """A user transform that records what it receives (and passes it on unchanged)."""

    def __init__(self) -> None:
        self.types: list[str] = []

    def __call__(self, image: Any) -> Any:
        self.types.append(f"{type(image).__module__}.{type(image).__name__}")
        return image


def _ops(spec: Any) -> list[str]:
    return [op.op for op in spec.ops]


def _params(spec: Any) -> list[Any]:
    """The spec's ops, untyped (their union is built at run time)."""
    return list(spec.ops)


def test_v2_compose_maps_arguments_and_keeps_user_classes_in_place() -> None:
    seen = Seen()
    compose = v2.Compose(
        [
            v2.RandomResizedCrop(96, scale=(0.3, 0.9), ratio=(0.5, 2.0), antialias=True),
            seen,
            v2.ColorJitter(0.4, 0.3, 0.2, 0.1),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )
    tr = translate(compose)
    assert _ops(tr.spec) == [
        "random_resized_crop",
        "python",
        "color_jitter",
        "to_dtype",
        "normalize",
    ]
    rrc, stage, jitter, _, norm = _params(tr.spec)
    assert rrc.size == (96, 96) and rrc.scale == (0.3, 0.9) and rrc.ratio == (0.5, 2.0)
    assert jitter.brightness == (0.6, 1.4) and jitter.hue == (-0.1, 0.1)
    assert norm.mean == tuple(MEAN) and norm.std == tuple(STD)
    assert isinstance(stage, PythonParams) and stage.name == "Seen" and stage.in_process
    assert stage.stage.accepts == "pil"  # it sits before ToImage: it gets what torchvision gave
    assert [r.status for r in tr.records] == ["op", "python", "op", "none", "op", "op"]
    assert "resize filter" in tr.records[0].note and "no DALI equivalent" in tr.records[1].note
    assert tr.spec.output.dtype == "float32"


def test_v1_compose_with_a_lambda() -> None:
    compose = v1.Compose(
        [
            v1.Resize(80, interpolation=v1.InterpolationMode.BICUBIC),
            v1.CenterCrop(64),
            v1.ToTensor(),
            v1.Lambda(lambda x: x.flip(0)),
            v1.Normalize(MEAN, STD),
        ]
    )
    spec = from_torchvision(compose)
    assert _ops(spec) == ["resize", "center_crop", "to_dtype", "python", "normalize"]
    assert _params(spec)[0].size == 80 and _params(spec)[0].interpolation == "bicubic"
    assert _params(spec)[3].stage.accepts == "tensor"  # after ToTensor: a tensor, as in torchvision
    with pytest.raises(SpecError, match=r"ops\[3\]: python stage 'Lambda'"):
        dump_spec(spec)


@pytest.mark.parametrize(
    "transform",
    [
        v2.RandomCrop(32, padding=4, padding_mode="reflect"),  # no DALI builder for reflect
        v2.Resize(40, interpolation=v2.InterpolationMode.LANCZOS),  # no such DALI filter
        v2.RandomRotation(10, expand=True),
        v2.RandAugment(),  # no spec op at all
    ],
    ids=["reflect", "lanczos", "expand", "randaugment"],
)
def test_unsupported_values_stay_in_python_never_dropped(transform: Any) -> None:
    tr = translate(v2.Compose([v2.ToImage(), transform]))
    assert _ops(tr.spec) == ["python"]
    assert tr.records[1].status == "python" and tr.records[1].note
    assert _params(tr.spec)[0].stage.call is transform


def test_strict_keeps_ops_that_compute_differently_in_python() -> None:
    compose = v2.Compose([v2.ToImage(), v2.RandomResizedCrop(32), v2.RandomHorizontalFlip()])
    assert _ops(from_torchvision(compose)) == ["random_resized_crop", "horizontal_flip"]
    tr = translate(compose, strict=True)
    assert _ops(tr.spec) == ["python", "horizontal_flip"]
    assert tr.records[1].note.startswith("strict: the DALI op differs")


def test_a_registered_callable_dumps_by_name() -> None:
    blur = register_python_op("test_pil_blur", accepts="pil")(v2.GaussianBlur(3, sigma=5.0))
    spec = from_torchvision(v2.Compose([v2.RandomCrop(32, padding_mode="edge", padding=2), blur]))
    assert _ops(spec) == ["python", "python"]
    assert _params(spec)[1].name == "test_pil_blur" and not _params(spec)[1].in_process
    with pytest.raises(SpecError, match=r"ops\[0\]"):  # the RandomCrop is still in-process
        dump_spec(spec)
    assert "test_pil_blur" in dump_spec(from_torchvision(v2.Compose([blur])))


def test_probed_output_rules() -> None:
    crop = v2.Compose([v2.ToImage(), v2.Lambda(lambda x: x[:, :10, :12])])
    stage = _params(from_torchvision(crop))[0].stage
    assert stage.output.size == (10, 12)
    gray_spec = from_torchvision(v2.Compose([v2.Lambda(lambda im: im.convert("L"))]))
    gray = _params(gray_spec)[0].stage
    assert gray.output.channels == 1 and gray.output.size == "same"


@pytest.mark.integration
def test_deterministic_compose_matches_torchvision_on_the_reference_backend(
    jpeg_folder: Path,
) -> None:
    compose = v2.Compose(
        [
            v2.Resize(40),
            v2.CenterCrop(32),
            v2.ToImage(),
            v2.ToDtype(torch.float32, scale=True),
            v2.Normalize(MEAN, STD),
        ]
    )
    ds = ImageFolder(jpeg_folder, transform=compose)
    with DataLoader(ds, batch_size=7, backend="reference", num_workers=0) as loader:
        images, labels = next(iter(loader))
    expected = torch.stack([ds[i][0] for i in range(7)])
    assert images.shape == expected.shape and images.dtype == expected.dtype
    # PIL resizes the original's images, torchvision's tensor kernel the translation's: both
    # antialiased bilinear, a few levels apart at most (on the normalized scale: 3/255/std).
    diff = (images - expected).abs()
    assert float(diff.max()) <= 3 / 255 / min(STD) + 1e-5
    assert float(diff.mean()) < 0.02
    assert labels.tolist() == [ds.targets[i] for i in range(7)]


def test_a_stage_sees_pil_before_to_image_and_tensors_after(jpeg_folder: Path) -> None:
    before, after = Seen(), Seen()
    compose = v2.Compose([v2.CenterCrop(24), before, v2.ToImage(), after])
    ds = ImageFolder(jpeg_folder, transform=compose)
    spec = from_torchvision(compose)
    assert [op.stage.accepts for op in _params(spec)[1:]] == ["pil", "image"]
    with DataLoader(ds, batch_size=3, num_workers=0, device="cpu") as loader:
        images, _ = next(iter(loader))
    assert images.dtype == torch.uint8 and images.shape == (3, 3, 24, 24)
    assert set(before.types) == {"PIL.Image.Image"}
    assert set(after.types) == {"torchvision.tv_tensors._image.Image"}
