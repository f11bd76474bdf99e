"""Integration: manifests with several image columns, WebDataset shards and COCO boxes, through
real DALI CPU pipelines and the reference backend."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dali_pipelines import DataLoader, register_python_op
from dali_pipelines.contracts import check_batch
from dali_pipelines.data.coco import Coco
from dali_pipelines.data.manifest import Manifest
from dali_pipelines.data.webdataset import WebDataset
from dali_pipelines.errors import DaliPipelinesError, SampleDecodeError
from tests.sources_data import write_coco, write_manifest, write_shards

pytestmark = pytest.mark.integration

RANDOM_GEOMETRY = [
    {"op": "random_resized_crop", "size": [20, 24], "scale": [0.3, 1.0]},
    {"op": "horizontal_flip"},
    {"op": "vertical_flip"},
    {"op": "random_crop", "size": [16, 16]},
]
PAIR = [{"kind": "image", "name": "a"}, {"kind": "image", "name": "b"}]


def source(outputs: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"outputs": outputs, **extra}


@pytest.fixture(scope="module")
def manifest_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_manifest(tmp_path_factory.mktemp("manifest"), rows=10)


def _all(loader: DataLoader) -> list[Any]:
    return list(loader)


@pytest.mark.parametrize("backend", ["dali", "reference"])
def test_shared_random_keeps_identical_columns_identical(manifest_path: Path, backend: str) -> None:
    spec = {"ops": RANDOM_GEOMETRY, "source": source(PAIR, shared_random=True)}
    with DataLoader(
        Manifest(manifest_path), spec, batch_size=4, shuffle=True, backend=backend, num_threads=1
    ) as loader:
        batches = _all(loader)
    assert [a.shape[0] for a, _ in batches] == [4, 4, 2]
    for a, b in batches:
        assert a.shape == (a.shape[0], 3, 16, 16)
        assert torch.equal(a, b)


@pytest.mark.parametrize("backend", ["dali", "reference"])
def test_independent_draws_differ(manifest_path: Path, backend: str) -> None:
    spec = {"ops": RANDOM_GEOMETRY, "source": source(PAIR, shared_random=False)}
    with DataLoader(Manifest(manifest_path), spec, batch_size=5, backend=backend) as loader:
        differing = sum(int(not torch.equal(x, y)) for a, b in loader for x, y in zip(a, b))
    assert differing >= 8  # 10 samples, each with independent crops and two flips


def test_geometric_default_shares_crops_not_colours(manifest_path: Path) -> None:
    ops = [
        {"op": "random_resized_crop", "size": [16, 16]},
        {"op": "horizontal_flip"},
        {"op": "color_jitter", "brightness": 0.6},
    ]
    spec = {"ops": ops, "output": {"dtype": "uint8"}, "source": source(PAIR)}
    with DataLoader(Manifest(manifest_path), spec, batch_size=10) as loader:
        a, b = next(iter(loader))
    # Same window and flip, brightness per column: unequal images, but one is the other scaled.
    for x, y in zip(a.double(), b.double()):
        assert not torch.equal(x, y)
        keep = (x > 8) & (x < 247) & (y > 8) & (y < 247)  # away from clipping and rounding
        ratio = x[keep] / y[keep]
        assert ratio.std() / ratio.mean() < 0.05


@pytest.mark.parametrize("backend", ["dali", "reference"])
def test_features_labels_and_dict_batches(manifest_path: Path, backend: str) -> None:
    manifest = Manifest(manifest_path)
    outputs: list[dict[str, Any]] = [
        {"kind": "image", "name": "photo", "column": "c"},
        {"kind": "features", "columns": ["speed", "score"]},
        {"kind": "label", "name": "y"},
    ]
    spec = {"ops": [{"op": "resize", "size": [12, 12]}], "source": source(outputs)}
    with DataLoader(
        manifest, spec, batch_size=3, shuffle=True, backend=backend, as_dict=True, check="every"
    ) as loader:
        batches = _all(loader)
        contract = loader.contract
    assert contract.names == ("photo", "features", "y")
    assert contract.tensor("y").value_range == (0.0, 2.0)  # three classes found in the rows
    seen: dict[float, tuple[list[float], int]] = {}
    for batch in batches:
        assert list(batch) == ["photo", "features", "y"]
        check_batch(batch, contract, values="full")
        for feats, label in zip(batch["features"], batch["y"]):
            seen[float(feats[1])] = (feats.tolist(), int(label))
    rows = manifest.rows
    assert len(seen) == len(rows)
    for i, row in enumerate(rows):
        expected = np.array([float(row["speed"]), float(row["score"])], dtype=np.float32)
        got, label = seen[float(np.float32(row["score"]))]
        assert np.array_equal(np.array(got, dtype=np.float32), expected)  # bit-exact
        assert label == ("cat", "dog", "eel").index(row["label"]) == i % 3


@pytest.mark.parametrize("backend", ["dali", "reference"])
@pytest.mark.parametrize("policy", ["pad", "list"])
def test_varying_sizes_follow_the_policy(manifest_path: Path, backend: str, policy: str) -> None:
    outputs = [{"kind": "image", "name": "a"}, {"kind": "label"}]
    spec = {
        "ops": [{"op": "resize", "size": 20}],
        "output": {"dtype": "uint8"},
        "source": source(outputs, varying=policy),
    }
    with DataLoader(Manifest(manifest_path), spec, batch_size=4, backend=backend) as loader:
        batch = next(iter(loader))
        check_batch(batch, loader.contract, values="full")
    # The rows are 40-42 x 53-56: shorter side 20, the longer truncated as torchvision does.
    expected = [(20, int(20 * (56 - i % 4) / (40 + i % 3))) for i in range(4)]
    if policy == "list":
        images, _labels = batch
        assert [tuple(x.shape[1:]) for x in images] == expected
    else:
        images, sizes, _labels = batch
        assert sizes.tolist() == [list(s) for s in expected]
        assert images.shape == (4, 3, 20, max(w for _, w in expected))
        for image, (h, w) in zip(images, expected):
            assert image[:, h:, :].sum() == 0 and image[:, :, w:].sum() == 0


def test_bad_file_in_a_column_is_named_or_skipped(tmp_path: Path) -> None:
    path = write_manifest(tmp_path, rows=6)
    (tmp_path / "img" / "3c.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    outputs = [{"kind": "image", "name": "a"}, {"kind": "image", "name": "c"}, {"kind": "label"}]
    spec = {"ops": [{"op": "resize", "size": [8, 8]}], "source": source(outputs)}
    with (
        DataLoader(Manifest(path), spec, batch_size=3) as loader,
        pytest.raises(SampleDecodeError, match=r"sample 3 \(.*img/3c\.jpg\)"),
    ):
        _all(loader)
    with DataLoader(Manifest(path), spec, batch_size=3, on_error="skip") as loader:
        labels = [int(y) for _, _, labels in loader for y in labels]
        assert len(labels) == 5 and loader.skipped[0][0][0].endswith("img/3c.jpg")


def test_loader_refuses_what_the_dataset_cannot_serve(
    manifest_path: Path, jpeg_folder: Path
) -> None:
    from dali_pipelines import ImageFolder

    spec = {"ops": [{"op": "resize", "size": [8, 8]}], "source": source(PAIR)}
    with pytest.raises(DaliPipelinesError, match=r"expected one image and at most one label"):
        DataLoader(ImageFolder(jpeg_folder), spec, batch_size=2)
    missing = {"ops": spec["ops"], "source": source([{"kind": "image", "name": "nope"}])}
    with pytest.raises(DaliPipelinesError, match=r"expected a column 'nope'"):
        DataLoader(Manifest(manifest_path), missing, batch_size=2)


def test_webdataset_three_ranks_read_every_sample_once(tmp_path: Path) -> None:
    shards = write_shards(tmp_path, [4, 7, 9])  # uneven: 20 samples over 3 ranks
    spec = {
        "ops": [{"op": "resize", "size": [8, 8]}],
        "output": {"dtype": "uint8"},
        "source": source(
            [
                {"kind": "image", "name": "image", "column": "jpg"},
                {"kind": "label", "column": "cls"},
            ]
        ),
    }
    per_epoch: list[Counter[int]] = [Counter(), Counter()]
    lengths = set()
    for rank in range(3):
        with DataLoader(
            WebDataset(shards), spec, batch_size=3, shuffle=True, rank=rank, world_size=3, seed=5
        ) as loader:
            lengths.add(len(loader))
            for epoch in range(2):
                loader.set_epoch(epoch)
                batches = [labels.tolist() for _, labels in loader]
                assert len(batches) == len(loader)
                per_epoch[epoch].update(i for b in batches for i in b)
    assert lengths == {3}  # 7 samples per rank -> 3 batches on every rank
    for counts in per_epoch:
        assert set(counts) == set(range(20))  # every sample of every shard
        assert sum(counts.values()) == 21 and max(counts.values()) == 2  # one wrap-around pad
    assert per_epoch[0] != per_epoch[1]  # a new permutation, so another sample repeats


@pytest.mark.parametrize("backend", ["dali", "reference"])
@pytest.mark.parametrize("policy", ["pad", "list"])
def test_box_stays_around_the_square(tmp_path: Path, backend: str, policy: str) -> None:
    annotations, images = write_coco(tmp_path)
    spec = {
        "ops": [
            {"op": "horizontal_flip", "p": 1.0},
            {"op": "random_crop", "size": [56, 80]},
            {"op": "resize", "size": [28, 40], "interpolation": "nearest"},
        ],
        "output": {"dtype": "uint8"},
        "source": source([{"kind": "image", "name": "image"}, {"kind": "boxes"}], varying=policy),
    }
    with DataLoader(
        Coco(annotations, images), spec, batch_size=4, shuffle=True, backend=backend
    ) as loader:
        batch = next(iter(loader))
        check_batch(batch, loader.contract, values="full")
    pictures, boxes, classes = batch[:3]
    for k in range(4):
        box = boxes[k][0] if policy == "list" else boxes[k, 0]
        red = (pictures[k][0] > 128) & (pictures[k][1] < 100)
        rows, cols = torch.nonzero(red, as_tuple=True)
        assert int(classes[k][0]) == 1  # "red"
        if len(rows) == 0:  # the crop cut the square away: its box has no area
            assert (box[2] - box[0]) * (box[3] - box[1]) < 4
            continue
        found = [cols.min().item(), rows.min().item(), cols.max().item() + 1, rows.max().item() + 1]
        assert np.allclose(box.tolist(), found, atol=1.0), (box.tolist(), found)
    if policy == "pad":
        assert batch[3].tolist() == [1, 1, 1, 1]


def test_list_contract_catches_a_wrong_element(tmp_path: Path) -> None:
    from dali_pipelines.contracts import infer_contract
    from dali_pipelines.errors import ContractViolation

    spec = {
        "ops": [{"op": "resize", "size": [8, 8]}],
        "source": source([{"kind": "image", "name": "image"}, {"kind": "boxes"}], varying="list"),
    }
    contract = infer_contract(spec)
    classes = [torch.zeros(1, dtype=torch.int64), torch.zeros(0, dtype=torch.int64)]
    good = (torch.zeros(2, 3, 8, 8), [torch.zeros(1, 4), torch.zeros(0, 4)], classes)
    check_batch(good, contract)
    with pytest.raises(ContractViolation, match=r"boxes\[1\]\.dims\[1\]: expected 4, got 5"):
        check_batch((good[0], [torch.zeros(1, 4), torch.zeros(2, 5)], good[2]), contract)
    with pytest.raises(ContractViolation, match=r"boxes: expected N=2 tensors"):
        check_batch((good[0], [torch.zeros(1, 4)], good[2][:1]), contract)


def test_dali_boxes_equal_torchvision_boxes_on_a_fixed_chain(tmp_path: Path) -> None:
    """Deterministic ops: the loader's box rules against torchvision v2 moving BoundingBoxes."""
    annotations, images = write_coco(tmp_path)
    spec = {
        "ops": [
            {"op": "vertical_flip", "p": 1.0},
            {"op": "center_crop", "size": [50, 70]},
            {"op": "pad", "padding": [2, 3]},
            {"op": "resize", "size": [27, 37]},
        ],
        "source": source([{"kind": "image", "name": "image"}, {"kind": "boxes"}]),
    }
    out = {}
    for backend in ("dali", "reference"):
        with DataLoader(Coco(annotations, images), spec, batch_size=4, backend=backend) as loader:
            out[backend] = next(iter(loader))
    _, boxes, labels, counts = out["dali"]
    assert torch.allclose(boxes, out["reference"][1], atol=1e-4)
    assert torch.equal(labels, out["reference"][2]) and torch.equal(counts, out["reference"][3])


@register_python_op("sources_swap")
def _swap(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    return np.ascontiguousarray(image[:, :, ::-1])


def test_python_stages_run_inline_on_every_column(manifest_path: Path) -> None:
    spec = {
        "ops": [{"op": "resize", "size": [8, 8]}, {"op": "python", "name": "sources_swap"}],
        "output": {"dtype": "uint8"},
        "source": source(PAIR),
    }
    with DataLoader(Manifest(manifest_path), spec, batch_size=5, python_placement="inline") as dl:
        a, b = next(iter(dl))
    plain = {**spec, "ops": spec["ops"][:1]}
    with DataLoader(Manifest(manifest_path), plain, batch_size=5) as loader:
        c, _ = next(iter(loader))
    assert torch.equal(a, b) and torch.equal(a, c.flip(1))
    with pytest.raises(DaliPipelinesError, match=r"expected the classic one image \+ label"):
        DataLoader(Manifest(manifest_path), spec, batch_size=2, python_placement="workers")
