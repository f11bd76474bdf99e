"""Tuned settings files (``config=``) and ``autotune``: same batches, knobs that move."""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

import tests.python_ops  # noqa: F401  (registers test_noise)
from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.errors import LoaderConfigError
from dali_pipelines.loader.autotune import Knobs, Window, decide
from dali_pipelines.loader.config import LoaderConfig
from dali_pipelines.loader.tuning import dump_tuned, read_tuned

SMALL = {
    "ops": [
        {"op": "random_resized_crop", "size": [32, 32]},
        {"op": "horizontal_flip", "p": 0.5},
        {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
    ]
}
HYBRID = {
    "ops": [
        {"op": "random_crop", "size": [32, 32]},
        {"op": "python", "name": "test_noise"},
        {"op": "horizontal_flip", "p": 0.5},
    ],
    "output": {"dtype": "uint8"},
}
ALLOWED = frozenset(LoaderConfig.model_fields)


def _write(tmp_path: Path, text: str, name: str = "tuned.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- tuned files --------------------------------------------------------------------------------
def test_read_tuned_splits_settings_and_measured(tmp_path: Path) -> None:
    text = dump_tuned({"num_threads": 2, "batch_size": 32}, {"images_per_s": 900.0}, "a header")
    assert text.startswith("# a header\n")
    tuned = read_tuned(_write(tmp_path, text), ALLOWED)
    assert tuned.settings == {"num_threads": 2, "batch_size": 32}
    assert tuned.measured == {"images_per_s": 900.0}


def test_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    path = _write(tmp_path, "num_threads: 2\nfoo: 1\n")
    with pytest.raises(LoaderConfigError, match=r"config: .*tuned.yaml: unknown key 'foo'"):
        read_tuned(path, ALLOWED)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("- 1\n- 2\n", "expected a mapping, got list"),
        ("a: [\n", "expected YAML or JSON"),
        ("num_threads: 1\n" + "#" * (70 << 10), "expected at most 65536 bytes"),
        ("measured: 3\n", "measured: expected a mapping, got int"),
    ],
)
def test_bad_files_fail_clearly(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(LoaderConfigError, match=match):
        read_tuned(_write(tmp_path, text), ALLOWED)


def test_missing_file_and_wrong_type(tmp_path: Path) -> None:
    with pytest.raises(LoaderConfigError, match="expected an existing file"):
        read_tuned(tmp_path / "none.yaml", ALLOWED)
    with pytest.raises(LoaderConfigError, match="expected a path to a YAML/JSON file or a dict"):
        read_tuned(3, ALLOWED)  # type: ignore[arg-type]


def test_json_file(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"num_threads": 1, "measured": {"x": 1}}', "tuned.json")
    assert read_tuned(path, ALLOWED).settings == {"num_threads": 1}


@pytest.mark.integration
def test_loader_takes_the_file_and_explicit_arguments_win(
    jpeg_folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    text = "num_threads: 2\nprefetch_queue_depth: 4\nbatch_size: 5\n"
    text += "measured:\n  spec_fingerprint: not-this-one\n"
    path = _write(tmp_path, text)
    ds = ImageFolder(jpeg_folder)
    logger = "dali_pipelines.loader.tuning"
    with (
        caplog.at_level(logging.WARNING, logger=logger),
        DataLoader(ds, SMALL, config=path, num_threads=1, backend="dali") as dl,
    ):
        assert (dl.num_threads, dl.prefetch_queue_depth, dl.batch_size) == (1, 4, 5)
        assert dl.tuned is not None and dl.tuned.measured["spec_fingerprint"]
    assert "not-this-one" in caplog.text
    with DataLoader(ds, SMALL, config={"batch_size": 7}, backend="dali") as dl:
        assert dl.batch_size == 7 and len(dl) == 3
    with DataLoader(ds, SMALL, batch_size=4, config={"batch_size": 7}, backend="dali") as dl:
        assert dl.batch_size == 4
    with pytest.raises(LoaderConfigError, match="unknown key 'threads'"):
        DataLoader(ds, SMALL, config={"threads": 2})
    with pytest.raises(LoaderConfigError, match="num_threads: expected an int >= 1, got 0"):
        DataLoader(ds, SMALL, config={"num_threads": 0})


def test_cpu_budget_is_validated() -> None:
    with pytest.raises(LoaderConfigError, match="cpu_budget: expected a number > 0 and <= 1"):
        LoaderConfig(cpu_budget=1.5)
    assert LoaderConfig(autotune=True, cpu_budget=0.4).cpu_budget == 0.4


# -- autotune policy ----------------------------------------------------------------------------
def _window(stall: float, share: float, cores: int = 2) -> Window:
    return Window(batches=8, wait_s=stall * 10, wall_s=10.0, cpu_s=share * 10 * cores, cores=cores)


def test_decide_adds_work_when_the_loop_stalls_with_headroom() -> None:
    assert decide(_window(0.3, 0.2), Knobs(read_ahead=3), 1.0)[:2] == ("read_ahead", 4)
    hybrid = Knobs(read_ahead=3, in_flight=2, workers=1, max_workers=2)
    assert decide(_window(0.3, 0.2), hybrid, 1.0)[:2] == ("workers", 2)
    full = Knobs(read_ahead=3, in_flight=2, workers=2, max_workers=2)
    assert decide(_window(0.3, 0.2), full, 1.0)[:2] == ("in_flight", 3)
    assert decide(_window(0.3, 0.2), Knobs(read_ahead=8), 1.0) is None  # at the ceiling
    assert decide(_window(0.01, 0.2), Knobs(read_ahead=3), 1.0) is None  # no stall
    assert decide(_window(0.3, 0.38), Knobs(read_ahead=3), 0.4) is None  # no headroom


def test_decide_sheds_work_over_the_cpu_budget() -> None:
    hybrid = Knobs(read_ahead=3, in_flight=2, workers=2, max_workers=2)
    change = decide(_window(0.0, 0.9), hybrid, 0.4)
    assert change is not None and change[:2] == ("workers", 1) and "budget 0.40" in change[2]
    assert decide(_window(0.0, 0.9), Knobs(read_ahead=3), 0.4)[:2] == ("read_ahead", 2)
    assert decide(_window(0.0, 0.9), Knobs(read_ahead=1), 0.4) is None


# -- autotune on real loaders -------------------------------------------------------------------
def _two_epochs(ds: Any, spec: Any, **kwargs: Any) -> list[tuple[torch.Tensor, torch.Tensor]]:
    with DataLoader(ds, spec, batch_size=3, shuffle=True, seed=5, backend="dali", **kwargs) as dl:
        if dl.autotuner is not None:
            dl.autotuner.window = 2  # decide often: knobs move within the test's batches
        batches = [(x.clone(), y.clone()) for _ in range(2) for x, y in dl]
        if dl.autotuner is not None and kwargs.get("cpu_budget") == 0.01:
            assert dl.autotuner.changes  # the budget forced changes mid-epoch
    return batches


@pytest.mark.integration
@pytest.mark.parametrize(
    ("spec", "extra"),
    [(SMALL, {}), (HYBRID, {"python_placement": "workers", "python_workers": 2})],
    ids=["dali", "hybrid"],
)
def test_autotune_gives_bitwise_identical_batches(
    jpeg_folder: Path, spec: Any, extra: dict[str, Any]
) -> None:
    ds = ImageFolder(jpeg_folder)
    off = _two_epochs(ds, spec, num_threads=1, **extra)
    on = _two_epochs(ds, spec, num_threads=1, autotune=True, cpu_budget=0.01, **extra)
    assert len(on) == len(off) == 14
    for (xa, ya), (xb, yb) in zip(off, on):
        assert torch.equal(ya, yb)
        assert torch.equal(xa, xb)


class SlowFolder(ImageFolder):
    """Reads that sleep: a slow disk, so the loop stalls while the CPU idles."""

    def read_bytes(self, index: int) -> np.ndarray:
        time.sleep(0.01)
        return super().read_bytes(index)


@pytest.mark.integration
def test_autotune_lengthens_read_ahead_for_a_slow_source(
    jpeg_folder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    ds = SlowFolder(jpeg_folder)
    with (
        caplog.at_level(logging.INFO, logger="dali_pipelines.loader.autotune"),
        DataLoader(
            ds, SMALL, batch_size=2, seed=0, backend="dali", num_threads=1, autotune=True
        ) as dl,
    ):
        assert dl.autotuner is not None
        dl.autotuner.window = 2
        for _ in range(2):
            for _batch in dl:
                pass
        changes = dl.autotuner.changes
        assert changes and changes[0][0] == "read_ahead" and changes[0][2] > changes[0][1]
        assert dl._runner is not None
        assert dl._runner.executor.source.depth == changes[-1][2]
    assert "autotune: read_ahead 3 -> 4 (stall" in caplog.text
