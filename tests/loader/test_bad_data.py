"""on_error: a bad file names itself (raise) or is accounted for (skip); nothing is lost."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.data.pil import decode_pil
from dali_pipelines.errors import SampleDecodeError
from tests.badfiles import BAD, GOOD, KINDS, Kind

pytestmark = pytest.mark.integration

SPEC = {"ops": [{"op": "resize", "size": [16, 16]}], "output": {"dtype": "uint8"}}


def _pil_reads(kind: Kind) -> bool:
    try:
        decode_pil(kind.make())
    except Exception:
        return False
    return True


# What each backend must do with each kind, from the measured table in tests/badfiles.py.
DALI_FAILS = {k.name for k in KINDS if k.dali_decodes is not True}  # None: never fed to DALI
PIL_FAILS = {k.name for k in KINDS if not _pil_reads(k)}
PIL_ONLY = DALI_FAILS - PIL_FAILS  # delivered through the PIL fallback with on_error="skip"
SKIPPED = {"dali": DALI_FAILS & PIL_FAILS, "reference": PIL_FAILS}


def _one_class_per_file(root: Path, kinds: tuple[Kind, ...]) -> Path:
    """Each file in its own class folder, so a label says which file a sample was."""
    for kind in kinds:
        kind.write(root / kind.name)
    return root


@pytest.fixture(scope="module")
def mixed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _one_class_per_file(tmp_path_factory.mktemp("mixed"), KINDS)


@pytest.mark.parametrize(
    ("kind", "backend"),
    [(k, "dali") for k in KINDS if k.name in DALI_FAILS]
    + [(k, "reference") for k in KINDS if k.name in PIL_FAILS],
    ids=lambda v: getattr(v, "name", v),
)
def test_raise_names_the_file(tmp_path: Path, kind: Kind, backend: str) -> None:
    root = tmp_path / "data"
    for i in range(3):
        GOOD[0].write(root / "a" / str(i))
    bad_path = kind.write(root / "a")
    loader = DataLoader(ImageFolder(root), SPEC, batch_size=2, backend=backend, num_threads=1)
    with loader, pytest.raises(SampleDecodeError) as info:
        for _ in loader:
            pass
    assert info.value.path == str(bad_path)
    assert str(bad_path) in str(info.value)
    assert info.value.index == ImageFolder(root).samples.index((str(bad_path), 0))


@pytest.mark.parametrize("backend", ["dali", "reference"])
def test_skip_accounting_two_epochs_two_ranks(mixed: Path, backend: str) -> None:
    dataset = ImageFolder(mixed)
    names = dataset.classes  # one class per file: label -> kind name
    for rank in range(2):
        loader = DataLoader(
            dataset,
            SPEC,
            batch_size=3,
            shuffle=True,
            seed=4,
            backend=backend,
            num_threads=1,
            on_error="skip",
            rank=rank,
            world_size=2,
        )
        expected = loader._order.samples_per_rank
        for epoch in range(2):
            labels = [y for _, y in loader]
            assert len(labels) == len(loader)  # a skip shrinks a batch, never the batch count
            delivered = [names[i] for i in torch.cat(labels).tolist()]
            skipped = loader.skipped.get(epoch, [])
            assert len(delivered) + len(skipped) == expected
            assert not set(delivered) & SKIPPED[backend]
            assert {Path(p).parent.name for p, _ in skipped} <= SKIPPED[backend]
            if backend == "dali":
                fallbacks = {Path(p).parent.name for p, _ in loader.fallbacks.get(epoch, [])}
                assert fallbacks <= PIL_ONLY
        loader.close()


def test_skip_covers_every_unreadable_file_and_delivers_the_rest(mixed: Path) -> None:
    dataset = ImageFolder(mixed)
    with DataLoader(dataset, SPEC, batch_size=4, on_error="skip", num_threads=1) as loader:
        delivered = {dataset.classes[i] for _, y in loader for i in y.tolist()}
        skipped = {Path(p).parent.name: reason for p, reason in loader.skipped[0]}
        assert set(skipped) == SKIPPED["dali"]
        assert delivered == {k.name for k in KINDS} - SKIPPED["dali"]
        assert "too many pixels" in skipped["huge_jpeg_header"]
        assert skipped["zero_bytes"] == "empty file"
        # Epoch 2: quarantined files are reported again without being decoded again.
        again = {dataset.classes[i] for _, y in loader for i in y.tolist()}
        assert again == delivered
        assert {Path(p).parent.name for p, _ in loader.skipped[1]} == SKIPPED["dali"]
        assert {Path(p).parent.name for p, _ in loader.fallbacks[0]} == PIL_ONLY
        assert "gif_named_jpg" in PIL_ONLY


def test_an_epoch_with_skips_logs_one_warning(
    mixed: Path, caplog: pytest.LogCaptureFixture
) -> None:
    dataset = ImageFolder(mixed)
    loader = DataLoader(dataset, SPEC, batch_size=4, on_error="skip", num_threads=1)
    with loader, caplog.at_level(logging.WARNING, logger="dali_pipelines"):
        for _epoch in range(2):
            for _ in loader:
                pass
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("dali_pipelines")]
    count = len(SKIPPED["dali"])
    assert len(warnings) == 2, warnings
    for epoch, message in enumerate(warnings):
        assert message.startswith(f"{count} of {len(dataset)} samples skipped in epoch {epoch}")
        assert message.endswith("see loader.skipped")


def test_removing_bad_files_delivers_the_same_samples(mixed: Path, tmp_path: Path) -> None:
    kept = tuple(k for k in KINDS if k.name not in SKIPPED["dali"])
    clean = _one_class_per_file(tmp_path / "clean", kept)
    runs = []
    for root, on_error in ((mixed, "skip"), (clean, "skip")):
        dataset = ImageFolder(root)
        with DataLoader(dataset, SPEC, batch_size=5, on_error=on_error, num_threads=1) as dl:
            runs.append(sorted(dataset.classes[i] for _, y in dl for i in y.tolist()))
    assert runs[0] == runs[1]


def test_all_skipped_batch_is_empty_not_missing(tmp_path: Path) -> None:
    root = tmp_path / "data"
    unreadable = [k for k in BAD if k.name in SKIPPED["dali"]]
    for kind in (unreadable[0], unreadable[1], GOOD[0]):
        kind.write(root / "a")
    with DataLoader(ImageFolder(root), SPEC, batch_size=2, on_error="skip", num_threads=1) as dl:
        batches = [x for x, _ in dl]
    assert len(batches) == 2
    assert sorted(b.shape[0] for b in batches) == [0, 1]
    assert all(b.shape[1:] == (3, 16, 16) for b in batches)


def test_max_pixels_guard(tmp_path: Path) -> None:
    root = tmp_path / "data"
    for i in range(2):
        GOOD[0].write(root / "a" / str(i))
    with (
        DataLoader(ImageFolder(root), SPEC, batch_size=2, max_pixels=100) as dl,
        pytest.raises(SampleDecodeError, match="too many pixels: 96x64 = 6144 > max_pixels=100"),
    ):
        next(iter(dl))
