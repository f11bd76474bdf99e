"""``dali-pipelines prepare``: summary, exit codes, options from the Options model."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from dali_pipelines.cli.main import build_parser, main
from dali_pipelines.data.prepared_format import Options
from tests.preparation.helpers import write_folder


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("src"), [(40, 60 + i) for i in range(6)])


def test_the_summary_names_counts_bytes_and_rate(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert main(["prepare", str(source), str(out), "--max-side", "32", "--quality", "80"]) == 0
    printed, _ = capsys.readouterr()
    assert "6 samples written (0 images kept, 6 re-encoded), 0 bad, in 1 shards" in printed
    assert "images/s" in printed and "in ->" in printed and str(out) in printed
    written = json.loads((out / "prepared.json").read_text())
    assert written["options"]["quality"] == 80 and written["options"]["max_side"] == 32
    assert main(["prepare", str(source), str(out), "--max-side", "32", "--quality", "80"]) == 0
    assert "already complete" in capsys.readouterr().out


def test_bad_files_exit_1_and_are_listed(
    source: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad"
    write_folder(bad, [(40, 60)] * 2)
    (bad / "class1" / "broken.jpg").write_bytes(b"GIF89a....")
    assert main(["prepare", str(bad), str(tmp_path / "out"), "-q", "--no-dct-scaling"]) == 1
    printed, errors = capsys.readouterr()
    assert "broken.jpg: unsupported_format" in printed and "━" not in errors
    options = json.loads((tmp_path / "out" / "prepared.json").read_text())["options"]
    assert options["dct_scaling"] is False


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["prepare", "{src}", "{out}", "--max-side", "32", "--min-side", "32"], 2, "not allowed"),
        (["prepare", "{tmp}/missing", "{out}"], 2, "SRC: expected a folder"),
        (["prepare", "{src}", "{out}", "--annotations", "{tmp}/none.json"], 2, "--annotations"),
        (["prepare", "{src}", "{out}", "--spec", "nonsense"], 2, "SPEC: expected a strategy"),
        (["prepare", "{src}", "{out}", "--max-side", "8"], 2, "--max-side: Input should be"),
        (["prepare", "{src}", "{tmp}"], 1, "expected an empty folder or a prepare output"),
    ],
)
def test_usage_and_failures(
    source: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    code: int,
    message: str,
) -> None:
    (tmp_path / "notes.txt").write_text("someone else's")
    names = {"src": str(source), "out": str(tmp_path / "out"), "tmp": str(tmp_path)}
    assert main([a.format(**names) for a in argv]) == code
    assert message in capsys.readouterr().err


def test_options_come_from_the_model() -> None:
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["prepare"]  # type: ignore[union-attr]
    actions = {a.dest: a for a in sub._actions}
    for name, field in Options.model_fields.items():
        assert actions[name].default == field.default, name
        if name != "dct_scaling":  # its flag is the negation, --no-dct-scaling
            assert field.description and actions[name].help.startswith(field.description), name
