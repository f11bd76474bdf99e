"""Every registered op and strategy: the inferred contract is what both backends really yield."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder, load_spec
from dali_pipelines.contracts import check_batch, infer_contract
from dali_pipelines.errors import SpecError
from dali_pipelines.ops import registered_ops
from dali_pipelines.plan import make_plan
from dali_pipelines.spec import registered_strategies
from tests.ops.cases import OP_CASES

pytestmark = pytest.mark.integration

PREFIX = {"op": "resize", "size": [100, 100]}  # fixed size first: batches must be dense


def _spec_for(op: str) -> dict[str, Any]:
    """The first case of ``op`` whose chain plans after a fixed-size resize."""
    for case in OP_CASES[op]:
        spec = {"ops": [PREFIX, *case.chain]}
        try:
            plan = make_plan(load_spec(spec))
        except SpecError:
            continue
        if plan.output.fixed_size is not None and all(
            step.op.dali_supported(step.params, "cpu") is None for step in plan.steps
        ):
            return spec
    raise AssertionError(f"no case of {op!r} runs on DALI CPU after a fixed-size resize")


SPECS = {f"op:{name}": _spec_for(name) for name in registered_ops() if name in OP_CASES}
AUDIO = {name for name in registered_strategies() if load_spec(name).modality == "audio"}
SPECS |= {f"strategy:{name}": name for name in registered_strategies() if name not in AUDIO}


def test_every_registered_op_is_covered() -> None:
    assert {key[3:] for key in SPECS if key.startswith("op:")} == set(OP_CASES) & set(
        registered_ops()
    )


@pytest.mark.parametrize("backend", ["dali", "reference"])
@pytest.mark.parametrize("key", sorted(SPECS))
def test_inferred_contract_matches_output(jpeg_folder: Path, key: str, backend: str) -> None:
    spec = SPECS[key]
    contract = infer_contract(spec, num_classes=3)  # the fixture has 3 classes
    with DataLoader(
        ImageFolder(jpeg_folder), spec, batch_size=4, backend=backend, num_threads=1, check="off"
    ) as loader:
        images, labels = next(iter(loader))
    assert loader.contract == contract
    check_batch((images, labels), contract, values="full")
    images_spec = contract.tensor("images")
    assert images.dtype == getattr(torch, images_spec.dtype)
    assert [d.size for d in images_spec.dims[1:]] == list(images.shape[1:])


@pytest.fixture(scope="module")
def wav_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 classes x 5 clips of 0.3-1.6 s at 8, 16 and 44.1 kHz (mono and stereo)."""
    import numpy as np
    import soundfile

    root = tmp_path_factory.mktemp("wavs")
    rng = np.random.default_rng(0)
    for i in range(10):
        rate = (8000, 16000, 44100)[i % 3]
        frames = int(rate * rng.uniform(0.3, 1.6))
        wave = 0.3 * np.sin(2 * np.pi * rng.uniform(100, 900) * np.arange(frames) / rate)
        samples = np.stack([wave, wave], 1) if i % 4 == 0 else wave
        folder = root / f"c{i % 2}"
        folder.mkdir(exist_ok=True)
        soundfile.write(folder / f"{i}.wav", samples, rate)
    return root


@pytest.mark.parametrize("backend", ["dali", "reference"])
@pytest.mark.parametrize("name", sorted(AUDIO))
def test_audio_strategy_contract_matches_output(wav_folder: Path, name: str, backend: str) -> None:
    from dali_pipelines import AudioFolder

    contract = infer_contract(name, num_classes=2)
    with DataLoader(
        AudioFolder(wav_folder), name, batch_size=4, backend=backend, num_threads=1, check="off"
    ) as loader:
        batches = list(loader)
    assert loader.contract == contract
    for batch in batches:
        check_batch(batch, contract, values="full")
        features, lengths, _ = batch
        assert int(lengths.max()) == features.shape[-1]
