"""The CLI's logic (rich table, check_spec), the generated docs, ``python -m`` entry point."""

from __future__ import annotations

from pathlib import Path

import pytest
from rich.console import Console

from dali_pipelines.contracts import BatchContract, contract_to_yaml, load_contract
from dali_pipelines.contracts.__main__ import main
from dali_pipelines.contracts.report import (
    DOCS_PATH,
    check_spec,
    contract_markdown,
    contract_table,
    render_docs,
    run_check,
)


def rendered(renderable: object) -> str:
    console = Console(record=True, width=160, color_system=None)
    console.print(renderable)
    return console.export_text()


def test_table_has_a_row_per_tensor(small: BatchContract):
    text = rendered(contract_table(small))
    assert "contract small" in text
    assert "(N, C=3, H=4, W=5)" in text
    assert "[0, 1]" in text
    assert "Symbols (one size per batch, shared by every tensor): N." in text
    table = contract_table(small)
    assert [c.header for c in table.columns][:3] == ["tensor", "dims", "layout"]
    assert table.row_count == 2


def test_markdown_section(small: BatchContract):
    assert contract_markdown(small).splitlines()[4:7] == [
        "| tensor | dims | layout | dtype | device | memory format | value range |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "| images | (N, C=3, H=4, W=5) | NCHW | float32 | cpu | any | [0, 1] |",
    ]


def test_docs_are_not_stale():
    assert DOCS_PATH.read_text(encoding="utf-8") == render_docs(), (
        "docs/data_contracts.md is stale: run `python -m dali_pipelines.contracts docs --write`"
    )


def test_docs_have_a_table_per_shipped_contract():
    text = render_docs()
    for name in ("imagenet_train", "imagenet_val"):
        assert f"## {name}\n" in text
        assert f"File: `contracts/{name}.yaml`" in text


def test_check_spec_ok_and_matching():
    result = check_spec("imagenet_val")
    assert (result.exit_code, result.message) == (0, "spec ok")
    assert result.contract == load_contract("imagenet_val")
    # A shipped name or a path; the contract's own name does not have to match.
    assert check_spec("imagenet_val", "imagenet_train").exit_code == 0
    path = Path(__file__).resolve().parents[2] / "contracts" / "imagenet_val.yaml"
    assert check_spec("imagenet_val", path).message == f"spec matches {path}"


def test_check_spec_differs(tmp_path: Path):
    spec = {"ops": [{"op": "resize", "size": [224, 256]}]}
    result = check_spec(spec, "imagenet_val")
    assert result.exit_code == 1
    assert result.message == (
        "spec differs from imagenet_val:\n"
        "  images.dims[3]: expected W=224, got W=256\n"
        "  images.value_range: expected (-2.1179039301310043, 2.6399999999999997), got (0.0, 1.0)"
    )


def test_check_spec_impossible_or_unreadable(tmp_path: Path):
    bad = {"ops": [{"op": "resize", "size": [8, 8]}, {"op": "center_crop", "size": 9}]}
    result = check_spec(bad)
    assert result.exit_code == 1
    assert result.contract is None
    assert result.message.startswith("cannot infer a contract: ops[1] (center_crop).size: ")
    missing = check_spec("imagenet_val", tmp_path / "none.yaml")
    assert missing.exit_code == 1
    assert missing.message.startswith("contract file: expected an existing file, got ")


def test_run_check_prints_table_and_verdict(capsys: pytest.CaptureFixture[str]):
    console = Console(record=True, width=160, color_system=None)
    assert run_check("imagenet_val", "imagenet_val", console=console) == 0
    text = console.export_text()
    assert "(N, C=3, H=224, W=224)" in text
    assert text.rstrip().endswith("spec matches imagenet_val")


def test_module_entry_point(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    assert main(["docs"]) == 0
    assert capsys.readouterr().out == render_docs()
    assert main(["check", "imagenet_val"]) == 0
    assert "spec ok" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main([])


def test_write_regenerates_identical_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    # Point the writer at a scratch folder: the reviewed files are not touched by tests.
    monkeypatch.setattr("dali_pipelines.contracts.store.contract_dir", lambda: tmp_path)
    assert main(["write", "imagenet_val"]) == 0
    written = (tmp_path / "imagenet_val.yaml").read_text(encoding="utf-8")
    assert written == contract_to_yaml(load_contract("imagenet_val"))
