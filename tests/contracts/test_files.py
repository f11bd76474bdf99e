"""Contract files: each strategy's file equals its inferred contract; files ship in the wheel."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from dali_pipelines.contracts import (
    BatchContract,
    contract_from_yaml,
    contract_to_yaml,
    diff_contracts,
    infer_contract,
    load_contract,
    shipped_contracts,
    write_contract_file,
)
from dali_pipelines.contracts.store import contract_dir
from dali_pipelines.errors import RegistryError, SpecError
from dali_pipelines.spec import registered_strategies

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "python -m dali_pipelines.contracts write"


@pytest.mark.parametrize("name", registered_strategies())
def test_strategy_matches_its_reviewed_file(name: str):
    assert name in shipped_contracts(), f"contracts/{name}.yaml is missing: run `{REGENERATE}`"
    differences = diff_contracts(load_contract(name), infer_contract(name))
    assert not differences, (
        f"strategy {name} no longer matches contracts/{name}.yaml (review, then `{REGENERATE}`):\n"
        + "\n".join(differences)
    )


def test_every_file_belongs_to_a_strategy():
    assert set(shipped_contracts()) <= set(registered_strategies())


def test_files_are_what_write_produces():
    # Byte for byte: a hand edit that still parses would drift from the generator's format.
    for name in shipped_contracts():
        text = (ROOT / "contracts" / f"{name}.yaml").read_text(encoding="utf-8")
        assert text == contract_to_yaml(load_contract(name)), f"run `{REGENERATE}`"


def test_package_dir_is_the_top_level_folder():
    assert contract_dir().resolve() == (ROOT / "contracts").resolve()


def test_yaml_round_trip(small: BatchContract):
    text = contract_to_yaml(small)
    assert "dims: [N, C=3, H=4, W=5]" in text
    assert "value_range: [0.0, 1.0]" in text
    assert text.startswith("# Data contract of strategy small")
    assert contract_from_yaml(text) == small


def test_load_by_path_and_errors(tmp_path: Path, small: BatchContract):
    path = tmp_path / "c.yaml"
    path.write_text(contract_to_yaml(small), encoding="utf-8")
    assert load_contract(path) == load_contract(str(path)) == small
    assert load_contract(small) is small
    with pytest.raises(RegistryError) as info:
        load_contract("imagenet_tain")
    assert str(info.value) == (
        "contract: expected one of audio_mfcc, imagenet_train, imagenet_val, speech_fbank80 or a "
        ".yaml path, "
        "got 'imagenet_tain'"
    )
    with pytest.raises(
        SpecError, match=r"contract file: expected an existing file, got .*nope.yaml"
    ):
        load_contract(tmp_path / "nope.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- 1\n", "contract file x.yaml: expected a mapping at the top, got list"),
        ("a: [\n", "contract file x.yaml: not valid YAML: "),
        ("tensors: []\n", "contract file x.yaml: tensors: Tuple should have at least 1 item"),
        (
            "tensors:\n- {name: images, dims: [N, 3C], dtype: float32}\n",
            "contract file x.yaml: tensors.0.dims.1: Value error, expected a dim like",
        ),
        (
            "tensors:\n- {name: a, dims: [N], dtype: float32, color: red}\n",
            "contract file x.yaml: tensors.0.color: Extra inputs are not permitted",
        ),
    ],
)
def test_bad_files_name_the_field(text: str, message: str):
    with pytest.raises(SpecError) as info:
        contract_from_yaml(text, "x.yaml")
    assert str(info.value).startswith(message)


def test_write_contract_file(tmp_path: Path):
    path = write_contract_file("imagenet_val", tmp_path / "out" / "val.yaml")
    assert load_contract(path) == infer_contract("imagenet_val")
    with pytest.raises(SpecError, match="path: expected a path for a spec without a name"):
        write_contract_file({"ops": []})


def test_diff_contracts(small: BatchContract):
    other = infer_contract({"ops": [{"op": "resize", "size": [4, 6]}]}, device="cuda")
    assert diff_contracts(small, small) == []
    assert diff_contracts(small, other) == [
        "images.dims[3]: expected W=5, got W=6",
        "images.device: expected cpu, got cuda",
        "images.memory_format: expected any, got contiguous",
        "labels.device: expected cpu, got cuda",
        "labels.memory_format: expected any, got contiguous",
        "name: expected small, got None",
    ]
    one = BatchContract(name="small", tensors=(small.tensors[0],))
    assert diff_contracts(small, one) == ["tensors: expected images, labels, got images"]


@pytest.mark.slow
def test_wheel_ships_the_files_and_loads_them_by_name(tmp_path: Path):
    # Build from a copy so the checkout gets no build/ folder; symlinks stay symlinks.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "contracts", src / "contracts")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "dali_pipelines", src / "dali_pipelines", symlinks=True, ignore=ignore)
    out = tmp_path / "wheel"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            str(src),
            "-w",
            str(out),
            "--no-deps",
            "--no-build-isolation",
            "-q",
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = out.glob("*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in shipped_contracts():
        assert f"dali_pipelines/contracts/files/{name}.yaml" in names
    code = (
        "import dali_pipelines, sys; from dali_pipelines.contracts import load_contract;"
        "assert dali_pipelines.__file__.startswith(sys.argv[1]), dali_pipelines.__file__;"
        "print(load_contract('imagenet_val').name)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(wheel)],
        env={"PYTHONPATH": str(wheel), "PATH": ""},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "imagenet_val"
