"""Raw (``.npy``) prepared images through every executor: no decode, the same pixels.

The conformance suite runs every executor on a raw prepared source (``prepared-raw``); here the
executors are compared with each other on one raw copy, the colour conversions are checked
against PIL's, and a member whose header disagrees with the index is a bad sample.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image

from dali_pipelines import DataLoader, Prepared
from dali_pipelines.data.npy import parse_npy
from dali_pipelines.errors import DaliPipelinesError
from dali_pipelines.preparation import prepare
from tests.backends.conformance_data import PYTHON_OP
from tests.conftest import smooth_image
from tests.preparation.helpers import encode, write_folder

pytestmark = pytest.mark.integration

CROP_FLIP = [
    {"op": "random_crop", "size": [32, 32], "padding": 4},
    {"op": "horizontal_flip", "p": 0.5},
]
UINT8 = {"output": {"dtype": "uint8"}}


@pytest.fixture(scope="module")
def raw_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ten 32x32 images (two of them grayscale PNGs) prepared raw."""
    root = write_folder(tmp_path_factory.mktemp("src"), [(32, 32)] * 8)
    rng = np.random.default_rng(3)
    for name in ("g0.png", "g1.png"):
        (root / "class0" / name).write_bytes(encode(smooth_image(rng, 32, 32)[:, :, 1], "PNG"))
    out = tmp_path_factory.mktemp("raw") / "out"
    prepare(root, out, raw=True, workers=1, max_shard_samples=4)
    return out


def _run(out: Path, spec: dict[str, Any], **loader: Any) -> list[tuple[torch.Tensor, ...]]:
    arguments = {"batch_size": 4, "shuffle": True, "seed": 11, "num_threads": 1} | loader
    with DataLoader(Prepared(out), spec, **arguments) as batches:
        return [tuple(t.clone() for t in batch) for epoch in range(2) for batch in batches]


def _equal(a: list[tuple[torch.Tensor, ...]], b: list[tuple[torch.Tensor, ...]]) -> None:
    assert len(a) == len(b)
    for left, right in zip(a, b):
        for x, y in zip(left, right):
            assert torch.equal(x, y)


def test_dali_equals_the_reference_bitwise_on_raw_pixels(raw_copy: Path) -> None:
    spec = {"ops": CROP_FLIP} | UINT8
    _equal(_run(raw_copy, spec, backend="dali"), _run(raw_copy, spec, backend="reference"))


def test_normalized_output_is_within_a_float_ulp(raw_copy: Path) -> None:
    norm = {"op": "normalize", "mean": [0.49, 0.48, 0.45], "std": [0.25, 0.24, 0.26]}
    spec = {"ops": [*CROP_FLIP, norm]}
    dali, reference = _run(raw_copy, spec, backend="dali"), _run(raw_copy, spec)
    for left, right in zip(dali, reference):
        assert torch.equal(left[1], right[1])
        torch.testing.assert_close(left[0], right[0], rtol=0, atol=1e-6)


def test_python_stages_in_workers_equal_inline_on_raw_pixels(raw_copy: Path) -> None:
    spec = {"ops": [CROP_FLIP[0], {"op": "python", "name": PYTHON_OP}, CROP_FLIP[1]]} | UINT8
    inline = _run(raw_copy, spec, backend="dali", python_placement="inline")
    workers = _run(raw_copy, spec, backend="dali", python_placement="workers", python_workers=1)
    _equal(inline, workers)


@pytest.mark.parametrize("color", ["grayscale", "rgb"])
def test_colour_is_converted_as_pil_converts(raw_copy: Path, color: str) -> None:
    """Grayscale spec on RGB pixels: PIL's ITU-R 601-2 luma; RGB spec on L: replicated."""
    spec = {"ops": [{"op": "center_crop", "size": [32, 32]}], "decode": {"color": color}} | UINT8
    dali = _run(raw_copy, spec, backend="dali", shuffle=False)
    _equal(dali, _run(raw_copy, spec, backend="reference", shuffle=False))
    dataset = Prepared(raw_copy)
    images = torch.cat([batch[0] for batch in dali[: len(dali) // 2]])
    for index in range(len(dataset)):
        stored = parse_npy(dataset.read_member(index, "images"))
        pil = Image.fromarray(stored[:, :, 0] if stored.shape[2] == 1 else stored)
        expected = np.asarray(pil.convert("L" if color == "grayscale" else "RGB"))
        got = images[index].permute(1, 2, 0).numpy()
        assert np.array_equal(got.reshape(expected.shape), expected), index


def _forge_shape(out: Path, index: int) -> None:
    """Rewrite a member's header shape in place ((32, 32, 3) -> (16, 64, 3): same lengths)."""
    dataset = Prepared(out)
    shard, offset, _ = dataset.extent(index, "images")
    dataset.close()
    with open(shard, "r+b") as handle:
        handle.seek(offset)
        header = handle.read(128)
        assert b"(32, 32, 3)" in header
        handle.seek(offset)
        handle.write(header.replace(b"(32, 32, 3)", b"(16, 64, 3)"))


def test_a_header_that_disagrees_with_the_index_is_a_bad_sample(
    raw_copy: Path, tmp_path: Path
) -> None:
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(raw_copy, out)
    _forge_shape(out, 0)
    spec = {"ops": CROP_FLIP} | UINT8
    for backend in ("dali", "reference"):
        with pytest.raises(DaliPipelinesError, match=r"\.images\.npy.*npy shape: expected 32x32"):
            _run(out, spec, backend=backend, shuffle=False)
        with DataLoader(Prepared(out), spec, batch_size=4, backend=backend, on_error="skip") as dl:
            delivered = sum(len(batch[1]) for batch in dl)
            assert delivered == len(dl.dataset) - 1 and len(dl.skipped[0]) == 1
