"""MixUp / CutMix as batch ops: soft labels, the contract change, determinism, torchvision's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from torchvision.transforms import v2

from dali_pipelines import DataLoader, ImageFolder, dump_spec, load_spec
from dali_pipelines.errors import SpecError
from dali_pipelines.loader.batch_ops import BatchOps, from_torchvision_batch
from dali_pipelines.ops.batch import validate_batch_op

SPEC: dict[str, Any] = {
    "ops": [{"op": "center_crop", "size": 24}, {"op": "normalize", "mean": [0.5], "std": [0.5]}],
    "batch_ops": [{"op": "cutmix_or_mixup", "switch_prob": 0.5}],
}


def _batch() -> tuple[torch.Tensor, torch.Tensor]:
    images = torch.arange(4, dtype=torch.float32)[:, None, None, None].expand(4, 3, 8, 8)
    return images.clone(), torch.tensor([0, 1, 2, 0])


def test_mixup_mixes_with_the_next_sample_and_its_label() -> None:
    ops = BatchOps(
        [validate_batch_op({"op": "mixup"})], seed=0, rank=0, num_classes=3, layout="CHW"
    )
    images, labels = ops(*_batch(), epoch=0, position=0)
    lam = float(labels[1, 1])  # sample 1 (class 1) mixed with sample 0 (class 0)
    assert labels.shape == (4, 3) and labels.dtype == torch.float32
    torch.testing.assert_close(labels.sum(1), torch.ones(4))
    torch.testing.assert_close(images[1], torch.full((3, 8, 8), lam * 1 + (1 - lam) * 0))
    again = ops(*_batch(), epoch=0, position=0)
    assert torch.equal(again[0], images)  # a pure function of (seed, epoch, rank, position)
    assert not torch.equal(ops(*_batch(), epoch=0, position=1)[1], labels)


def test_cutmix_label_weight_is_the_pasted_area() -> None:
    ops = BatchOps(
        [validate_batch_op({"op": "cutmix"})], seed=1, rank=0, num_classes=3, layout="CHW"
    )
    images, labels = ops(*_batch(), epoch=0, position=0)
    pasted = float((images[2, 0] == 1.0).float().mean())  # sample 2 got sample 1's pixels
    assert labels[2, 1] == pytest.approx(pasted)
    assert labels[2, 2] == pytest.approx(1.0 - pasted)


def test_torchvision_recipes_translate() -> None:
    recipe = v2.RandomChoice([v2.CutMix(num_classes=10), v2.MixUp(alpha=0.2, num_classes=10)])
    (op,) = from_torchvision_batch(recipe)
    assert op == {
        "op": "cutmix_or_mixup",
        "cutmix_alpha": 1.0,
        "mixup_alpha": 0.2,
        "switch_prob": 0.5,
        "num_classes": 10,
    }
    with pytest.raises(SpecError, match="batch_ops: expected MixUp"):
        from_torchvision_batch(v2.RandomHorizontalFlip())


def test_specs_dump_them_and_reject_unknown_ones() -> None:
    spec = load_spec(SPEC)
    assert "cutmix_or_mixup" in dump_spec(spec)
    assert "batch_ops" not in dump_spec(load_spec("imagenet_train"))
    with pytest.raises(SpecError, match="op: expected one of"):
        load_spec({"batch_ops": [{"op": "mosaic"}]})


@pytest.mark.integration
def test_the_loader_applies_them_and_its_contract_says_so(jpeg_folder: Path) -> None:
    ds = ImageFolder(jpeg_folder)
    with DataLoader(ds, SPEC, batch_size=8, shuffle=True, seed=2, device="cpu") as loader:
        labels_spec = loader.contract.tensor("labels")
        assert labels_spec.dtype == "float32" and labels_spec.value_range == (0.0, 1.0)
        first = [(x.clone(), y.clone()) for x, y in loader]
    assert first[0][1].shape == (8, 3) and first[-1][1].shape == (5, 3)
    with DataLoader(ds, SPEC, batch_size=8, shuffle=True, seed=2, device="cpu") as again:
        for (xa, ya), (xb, yb) in zip(first, again, strict=True):
            assert torch.equal(xa, xb) and torch.equal(ya, yb)
    mixup = [v2.MixUp(num_classes=3)]
    plain = {"ops": SPEC["ops"]}
    with DataLoader(ds, plain, batch_size=4, batch_ops=mixup, device="cpu") as loader:
        assert next(iter(loader))[1].shape == (4, 3)
    as_uint8 = {"ops": plain["ops"][:1], "output": {"dtype": "uint8"}}
    with pytest.raises(SpecError, match="expected a float output"):
        DataLoader(ds, as_uint8, batch_size=4, batch_ops=mixup)
