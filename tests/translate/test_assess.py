"""assess: the plan of a Compose as a table and JSON, from the CLI and the API."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from torchvision.transforms import v2

from dali_pipelines.cli.main import main
from dali_pipelines.translate.assess import assess, resolve

MODULE = """
import torch
from torchvision.transforms import v2


class OcrWarp:
    def __call__(self, image):
        return image


def train_transform():
    return v2.Compose([
        v2.RandomResizedCrop(224),
        OcrWarp(),
        v2.ToImage(),
        v2.ToDtype(torch.float32, scale=True),
        v2.Normalize([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),
    ])


COMPOSE = train_transform()
"""


@pytest.fixture()
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    (tmp_path / "assess_target.py").write_text(MODULE, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield "assess_target"
    sys.modules.pop("assess_target", None)


def test_the_plan_of_rrc_custom_class_normalize(module: str) -> None:
    result = assess(resolve(f"{module}:train_transform"))
    where = [(row.op, row.where.split(" (")[0]) for row in result.rows]
    assert where == [
        ("decode", "DALI CPU"),
        ("random_resized_crop", "DALI CPU"),
        ("python:OcrWarp", "Python per-sample"),
        ("-", "nothing to run"),
        ("to_dtype", "torch batch"),
        ("normalize", "torch batch"),
    ]
    assert "ROI decode" in result.rows[0].detail
    assert "no DALI equivalent" in result.rows[2].detail
    assert "resize filter" in result.rows[1].differs
    assert result.segments_text() == "DALI CPU [0] -> Python workers [1-2] -> torch batch [3-4]"


def test_cli_prints_the_table_and_json(
    module: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "240")  # one line per row: cells are not folded
    assert main(["assess", f"{module}:COMPOSE"]) == 0
    text = capsys.readouterr().out
    for expected in ("RandomResizedCrop", "OcrWarp", "worker", "segments: DALI CPU [0]"):
        assert expected in text
    assert main(["assess", f"{module}:COMPOSE", "--json", "--device", "gpu", "--strict"]) == 0
    data: dict[str, Any] = json.loads(capsys.readouterr().out)
    assert data["device"] == "gpu" and data["strict"] and data["mode"] == "workers"
    assert [r["where"] for r in data["rows"]][:3] == [
        "DALI GPU (nvJPEG)",
        "Python per-sample (worker processes)",  # strict: RRC's resize differs, stays Python
        "Python per-sample (worker processes)",
    ]


def test_cli_usage_errors(module: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["assess", "no_colon"]) == 2
    assert main(["assess", f"{module}:missing"]) == 2
    assert "error" in capsys.readouterr().err


def test_inline_numpy_ops_show_inline() -> None:
    result = assess([v2.CenterCrop(32), v2.ToImage(), v2.ToDtype(torch.float32, scale=True)])
    assert result.mode == "dali"
    assert result.segments_text() == "DALI CPU [0-2]"
