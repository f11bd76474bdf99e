from __future__ import annotations

import json
from pathlib import Path

import pytest

from dali_pipelines.cli.main import main


def test_check_shipped_strategy_ok(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "imagenet_train"]) == 0
    assert "224" in capsys.readouterr().out


def test_check_impossible_spec_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = tmp_path / "bad.json"
    spec.write_text(
        json.dumps(
            {
                "ops": [
                    {"op": "grayscale", "num_output_channels": 1},
                    {"op": "normalize", "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]},
                ]
            }
        )
    )
    assert main(["check", str(spec)]) == 1
    captured = capsys.readouterr()
    assert "ops[1] (normalize)" in captured.out + captured.err


def test_check_against_a_differing_contract(tmp_path: Path) -> None:
    path = tmp_path / "val.yaml"
    assert main(["contract", "imagenet_val", "--write", "--out", str(path)]) == 0
    assert main(["check", "imagenet_val", "--contract", str(path)]) == 0
    other = tmp_path / "small.json"
    other.write_text(json.dumps({"ops": [{"op": "resize", "size": [100, 100]}]}))
    assert main(["check", str(other), "--contract", str(path)]) == 1


def test_contract_prints_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["contract", "imagenet_val"]) == 0
    out = capsys.readouterr().out
    assert "dims: [N, C=3, H=224, W=224]" in out
