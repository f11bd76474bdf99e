"""The reference backend: deterministic, resumable, and DALI's batches within each op's bound.

1. Bitwise identical batches for num_workers 0 (in-process), 1 and 2 and across runs, with every
   random op, equal to :class:`ReferenceSample` computed in this process (workers are pure
   functions of (seed, epoch, index)).
2. Resuming from ``state_dict`` mid-epoch gives bitwise the uninterrupted batches.
3. DALI vs reference end to end (``DataLoader(backend=...)``) on every case of the op table
   (tests/ops/cases.py, PNG inputs so decoding is exact): the max and mean absolute differences
   stay within the ops' stated ``bounds``; the output conversions, several image columns and
   boxes follow DALI too.

``DALI_PIPELINES_BOUNDS_REPORT=<file>`` writes the measured per-op figures (docs/operators.md
states them; regenerate with ``python -m dali_pipelines.ops.docs``).
"""

from __future__ import annotations

import csv
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

# Reference workers fork per loader and import torchvision's v2 functionals on first use (1-2 s
# each on 2 cores): imported here once, every fork inherits it.
import torchvision.transforms.v2  # noqa: F401
from PIL import Image

import tests.python_ops  # noqa: F401  (registers test_noise, test_fail)
from dali_pipelines import DataLoader, ImageFolder, load_spec
from dali_pipelines.backends.reference import ReferenceSample
from dali_pipelines.data.coco import Coco
from dali_pipelines.data.manifest import Manifest
from dali_pipelines.data.pil import load_pil
from dali_pipelines.loader.config import Backend
from dali_pipelines.ops import registered_ops
from dali_pipelines.plan import Plan, make_plan
from tests.ops import harness
from tests.ops.cases import OP_CASES, Case
from tests.sources_data import write_coco

pytestmark = pytest.mark.integration

#: Every random op of the registry, chained.
RANDOM_SPEC: dict[str, Any] = {
    "ops": [
        {"op": "random_resized_crop", "size": [40, 40], "scale": [0.3, 1.0]},
        {"op": "horizontal_flip"},
        {"op": "vertical_flip", "p": 0.3},
        {"op": "color_jitter", "brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1},
        {"op": "rotate", "degrees": 20, "interpolation": "bilinear"},
        {"op": "gaussian_blur", "kernel_size": 3, "sigma": [0.1, 1.5]},
        {"op": "random_crop", "size": [32, 32], "padding": 2},
        {"op": "python", "name": "test_noise"},
        {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    ]
}
Batches = list[tuple[torch.Tensor, torch.Tensor]]


def _epochs(loader: DataLoader, count: int = 1) -> Batches:
    return [(x.clone(), y.clone()) for _ in range(count) for x, y in loader]


def _reference(folder: Path, workers: int, spec: dict[str, Any] = RANDOM_SPEC) -> DataLoader:
    return DataLoader(
        ImageFolder(folder),
        spec,
        batch_size=4,
        shuffle=True,
        seed=5,
        backend="reference",
        num_workers=workers,  # torch's name: the reference backend's worker processes
    )


def _assert_same(a: Batches, b: Batches) -> None:
    assert len(a) == len(b)
    for (xa, ya), (xb, yb) in zip(a, b, strict=True):
        assert torch.equal(ya, yb)
        assert torch.equal(xa, xb)


def test_batches_are_bitwise_identical_whatever_the_workers(jpeg_folder: Path) -> None:
    runs = []
    for workers in (0, 1, 2, 0):
        with _reference(jpeg_folder, workers) as loader:
            runs.append(_epochs(loader, 2))
    for other in runs[1:]:
        _assert_same(runs[0], other)
    half = len(runs[0]) // 2
    assert not torch.equal(runs[0][0][0], runs[0][half][0])  # epochs differ


def test_workers_compute_reference_sample(jpeg_folder: Path) -> None:
    """A batch is ReferenceSample of (seed, epoch, index) on the decoded files, in order."""
    dataset = ImageFolder(jpeg_folder)
    with _reference(jpeg_folder, 2) as loader:
        loader.set_epoch(1)
        images, labels = next(iter(loader))
        order = loader._order.batches(1)[0]  # the loader's own order: seed + epoch
    sample = ReferenceSample(loader.plan, seed=5)
    for image, label, index in zip(images, labels, order, strict=True):
        pixels = torch.from_numpy(np.array(load_pil(dataset.path(int(index))))).permute(2, 0, 1)
        expected = sample([pixels], None, epoch=1, index=int(index)).images[0]
        assert int(label) == dataset.targets[int(index)]
        assert torch.equal(image, expected)


@pytest.mark.parametrize("workers", [0, 2])
def test_resume_mid_epoch_is_bitwise(jpeg_folder: Path, workers: int) -> None:
    with _reference(jpeg_folder, workers) as loader:
        full = _epochs(loader, 2)
    stop = 3
    with _reference(jpeg_folder, workers) as first:
        got: Batches = []
        for x, y in first:
            got.append((x.clone(), y.clone()))
            if len(got) == stop:
                break
        state = first.state_dict()
    assert (state["epoch"], state["batch"]) == (0, stop)
    with _reference(jpeg_folder, workers) as resumed:
        resumed.load_state_dict(state)
        got += _epochs(resumed, 2)  # the rest of epoch 0, then epoch 1
    _assert_same(full, got)


# -- DALI vs reference on the op table ---------------------------------------------------------

ALL_CASES = [case for cases in OP_CASES.values() for case in cases]
#: "op" or "op (when)" -> [uint8 max, uint8 mean, float max] over the cases attributable to it.
_MEASURED: dict[str, list[float]] = {}


def _case_id(case: Case) -> str:
    return f"{case.op}-{case.id}"


def test_every_registered_image_op_has_cases() -> None:
    # Audio ops run end to end in tests/backends/test_audio_executors.py.
    image_ops = {name for name, op in registered_ops().items() if op.modality == "image"}
    missing = sorted(image_ops - set(OP_CASES))
    assert not missing, f"ops without an OP_CASES entry: {missing}"


def _png_folder(root: Path, case: Case) -> Path:
    folder = root / "pngs" / "c"
    folder.mkdir(parents=True)
    for k, image in enumerate(harness.make_images(case.sizes, case.channels, seed=case.seed)):
        Image.fromarray(image[:, :, 0] if case.channels == 1 else image).save(folder / f"{k}.png")
    return root / "pngs"


def _case_spec(case: Case) -> dict[str, Any]:
    color = "grayscale" if case.channels == 1 else "rgb"
    plan = make_plan(load_spec({"decode": {"color": color}, "ops": list(case.chain)}))
    dtype = "uint8" if plan.final.dtype == "uint8" else "float32"
    return {"decode": {"color": color}, "ops": list(case.chain), "output": {"dtype": dtype}}


def _run(dataset: Any, spec: dict[str, Any], backend: Backend, **kwargs: Any) -> list[Any]:
    # DALI: one thread; the reference: in-process (its workers are covered above).
    workers: dict[str, Any] = {"num_threads": 1} if backend == "dali" else {"num_workers": 0}
    with DataLoader(
        dataset,
        spec,
        backend=backend,
        **workers,
        device="cpu",
        python_placement="inline",
        **kwargs,
    ) as loader:
        return list(loader)


def chain_bound(plan: Plan) -> tuple[float, float]:
    """(max, mean) allowed on the chain's output: the largest of its ops' bounds, each taken
    on the dtype the op outputs and carried to the output's scale (0-255 for uint8, x 255 from
    float; float units for float, / 255 from uint8)."""
    to_uint8 = plan.spec.output.dtype == "uint8"
    most, mean = 0.0, 0.0
    for step in plan.steps:
        bound = step.op.bound(step.params)
        if step.state_out.dtype == "uint8":
            scale = 1.0 if to_uint8 else 1 / 255
            most, mean = max(most, bound.max_abs * scale), max(mean, bound.mean_abs * scale)
        else:
            scale = 255.0 if to_uint8 else 1.0
            most, mean = max(most, bound.float_abs * scale), max(mean, bound.float_abs * scale)
    return most, mean


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_dali_and_reference_agree_within_the_stated_bound(case: Case, tmp_path: Path) -> None:
    spec = _case_spec(case)
    dataset = ImageFolder(_png_folder(tmp_path, case))
    # One sample a batch: the table's chains may end in a size that varies per sample.
    out = {b: _run(dataset, spec, b, batch_size=1, seed=case.seed) for b in ("dali", "reference")}
    dali = [harness.to_hwc(x[0]) for x, _ in out["dali"]]
    ref = [harness.to_hwc(x[0]) for x, _ in out["reference"]]
    assert [x.shape for x in dali] == [x.shape for x in ref]  # the same draws, the same sizes
    diff = harness.diff(dali, ref)
    plan = make_plan(load_spec(spec))
    _record(plan, diff)
    most, mean = chain_bound(plan)
    assert diff.within(most, mean), f"DALI vs reference {diff}, stated max {most} mean {mean}"


def _record(plan: Plan, diff: harness.Diff) -> None:
    """Per op and bound variant, over the cases whose earlier ops are exact (or a float cast)."""
    *before, last = plan.steps
    if any(s.op.bound(s.params).max_abs or s.op.bound(s.params).float_abs > 1e-6 for s in before):
        return
    when = last.op.bound(last.params).when
    key = f"{last.op.name} ({when})" if when else last.op.name
    figures = _MEASURED.setdefault(key, [-1.0, -1.0, -1.0])  # -1: no such case
    if plan.spec.output.dtype == "uint8":
        figures[0] = max(figures[0], diff.max_abs)
        figures[1] = max(figures[1], diff.mean_abs)
    else:
        figures[2] = max(figures[2], diff.max_abs)


@pytest.fixture(scope="module", autouse=True)
def _bounds_report() -> Iterator[None]:
    yield
    path = os.environ.get("DALI_PIPELINES_BOUNDS_REPORT")
    if path and _MEASURED:
        Path(path).write_text(json.dumps(_MEASURED, indent=1, sort_keys=True), encoding="utf-8")


# -- output conversions, several columns, boxes ------------------------------------------------

EXACT_OPS = [{"op": "center_crop", "size": [40, 36]}, {"op": "horizontal_flip", "p": 1.0}]
F32 = {"op": "to_dtype", "dtype": "float32", "scale": True}


@pytest.fixture(scope="module")
def png_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    case = Case("png", ({"op": "horizontal_flip"},), sizes=((48, 64), (64, 48), (52, 60)) * 2)
    return _png_folder(tmp_path_factory.mktemp("out"), case)


@pytest.mark.parametrize(
    ("ops", "output"),
    [
        (EXACT_OPS, {"dtype": "float32"}),
        (EXACT_OPS, {"dtype": "float16"}),
        (EXACT_OPS, {"dtype": "bfloat16"}),
        (EXACT_OPS, {"dtype": "uint8", "layout": "HWC"}),
        (EXACT_OPS, {"dtype": "float32", "memory_format": "channels_last"}),
        ([*EXACT_OPS, F32], {"dtype": "uint8"}),  # DALI's float -> uint8 rounding
        ([*EXACT_OPS, F32], {"dtype": "float16", "layout": "HWC"}),
        ([*EXACT_OPS, {"op": "normalize", "mean": [0.5], "std": [0.25]}], {"dtype": "float16"}),
    ],
)
def test_output_conversion_is_dali_s(png_folder: Path, ops: list[Any], output: Any) -> None:
    spec = {"ops": ops, "output": output}
    out = {b: _run(ImageFolder(png_folder), spec, b, batch_size=3) for b in ("dali", "reference")}
    for (xd, yd), (xr, yr) in zip(out["dali"], out["reference"], strict=True):
        assert torch.equal(yd, yr)
        assert xd.dtype == xr.dtype and xd.shape == xr.shape and xd.stride() == xr.stride()
        assert torch.equal(xd, xr)


def _manifest(root: Path, rows: int = 8) -> Path:
    """Two different PNG columns ``a`` and ``b`` of the same size per row, and a label."""
    images = harness.make_images([(40 + k % 3 * 4, 52 - k % 4 * 3) for k in range(2 * rows)])
    (root / "img").mkdir(parents=True)
    records = []
    for k in range(rows):
        for column, image in zip("ab", images[2 * k : 2 * k + 2], strict=True):
            Image.fromarray(image).save(root / "img" / f"{k}{column}.png")
        records.append({"a": f"img/{k}a.png", "b": f"img/{k}b.png", "label": str(k % 2)})
    path = root / "rows.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=["a", "b", "label"])
        writer.writeheader()
        writer.writerows(records)
    return path


@pytest.mark.parametrize("shared", ["geometric", True, False])
def test_several_columns_draw_as_on_dali(tmp_path: Path, shared: Any) -> None:
    ops = [
        {"op": "random_resized_crop", "size": [24, 28], "scale": [0.3, 1.0]},
        {"op": "horizontal_flip"},
        {"op": "color_jitter", "brightness": 0.5, "saturation": 0.5},
        {"op": "random_crop", "size": [20, 20], "padding": 2},
    ]
    outputs = [{"kind": "image", "name": "a"}, {"kind": "image", "name": "b"}, {"kind": "label"}]
    source = {"outputs": outputs, "shared_random": shared}
    spec = {"ops": ops, "output": {"dtype": "uint8"}, "source": source}
    dataset = Manifest(_manifest(tmp_path))
    out = {
        b: _run(dataset, spec, b, batch_size=3, shuffle=True, seed=2) for b in ("dali", "reference")
    }
    for dali, ref in zip(out["dali"], out["reference"], strict=True):
        assert torch.equal(dali[2], ref[2])
        for column in (0, 1):
            d = harness.diff(list(dali[column].numpy()), list(ref[column].numpy()))
            assert d.within(3.0, 0.5), d  # random_resized_crop's bound (colour: <= 2)


def test_boxes_follow_the_same_draws_as_on_dali(tmp_path: Path) -> None:
    annotations, images = write_coco(tmp_path)
    ops = [
        {"op": "random_resized_crop", "size": [40, 56], "scale": [0.5, 1.0]},
        {"op": "horizontal_flip"},
        {"op": "vertical_flip"},
        {"op": "random_crop", "size": [36, 50], "padding": 3},
    ]
    outputs = [{"kind": "image", "name": "image"}, {"kind": "boxes"}]
    spec = {"ops": ops, "output": {"dtype": "uint8"}, "source": {"outputs": outputs}}
    dataset = Coco(annotations, images)
    out = {
        b: _run(dataset, spec, b, batch_size=2, shuffle=True, seed=3) for b in ("dali", "reference")
    }
    for dali, ref in zip(out["dali"], out["reference"], strict=True):
        assert harness.diff(list(dali[0].numpy()), list(ref[0].numpy())).within(3.0, 0.5)
        for d, r in zip(dali[1:], ref[1:], strict=True):  # boxes, classes, counts: bitwise
            assert torch.equal(d, r)
    assert np.unique(np.concatenate([b[1].numpy().ravel() for b in out["dali"]])).size > 4
