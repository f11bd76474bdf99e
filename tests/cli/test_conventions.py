"""CLI conventions (issue 14), for every command: the exit-code table of docs/cli.md holds, each
row run at 80 and 200 columns with nothing cut ("…") and no path split inside a name; help
texts show each default once; --device takes the loader's spellings; --version; -q/-v set the
level of the ``dali_pipelines`` logger."""

from __future__ import annotations

import argparse
import logging
import re
import shlex
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from dali_pipelines import __version__
from dali_pipelines.cli import check as check_cli
from dali_pipelines.cli._common import HelpFormatter
from dali_pipelines.cli.main import build_parser, main
from dali_pipelines.loader.config import parse_device
from tests.conftest import write_image_folder

DOCS = Path(__file__).resolve().parents[2] / "docs" / "cli.md"
ROW = re.compile(r"^\| `([\w-]+)` \| (\d) \| [^|]+ \| `dali-pipelines ([^`]+)` \|$")
#: A bad file whose name is longer than 80 columns with its folder: it must never be split.
LONG_NAME = "a_rather_long_file_name_of_a_broken_image_that_would_not_fit_in_one_cell_0001.jpg"
TRANSFORMS = """
import torch
from torchvision.transforms import v2

train_tf = v2.Compose([
    v2.RandomResizedCrop(224), v2.RandomHorizontalFlip(), v2.ToImage(),
    v2.ToDtype(torch.float32, scale=True), v2.Normalize([0.5, 0.5, 0.5], [0.2, 0.2, 0.2]),
])


def broken():
    raise RuntimeError("no config file")
"""
IMPOSSIBLE = """ops:
  - {op: grayscale, num_output_channels: 1}
  - {op: normalize, mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2]}
"""


def table_rows() -> list[tuple[str, int, list[str]]]:
    rows = []
    for line in DOCS.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows.append((match[1], int(match[2]), shlex.split(match[3])))
    return rows


def commands() -> list[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return list(action.choices)


@pytest.fixture(scope="module")
def examples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder docs/cli.md's examples run in (what its paragraph above the table says)."""
    root = tmp_path_factory.mktemp("cli")
    write_image_folder(root / "data")
    bad = root / "bad-data" / "some_class_folder_with_a_long_name"
    bad.mkdir(parents=True)
    write_image_folder(root / "bad-data")
    (bad / LONG_NAME).write_text("not an image\n", encoding="utf-8")
    (root / "impossible.yaml").write_text(IMPOSSIBLE, encoding="utf-8")
    (root / "unnamed.yaml").write_text("ops:\n  - {op: resize, size: [64, 64]}\n")
    (root / "transforms.py").write_text(TRANSFORMS, encoding="utf-8")
    return root


@pytest.fixture()
def in_examples(examples: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(examples)
    monkeypatch.syspath_prepend(str(examples))
    yield examples
    sys.modules.pop("transforms", None)


def test_the_table_covers_every_command() -> None:
    rows = table_rows()
    codes = {name: {code for row_name, code, _ in rows if row_name == name} for name in commands()}
    assert all({0, 2} <= found for found in codes.values()), codes
    # preview's failure modes are its owner's to document: every other command shows all three.
    assert {name for name, found in codes.items() if 1 not in found} <= {"preview"}, codes


@pytest.mark.integration
@pytest.mark.parametrize("width", [80, 200])
@pytest.mark.parametrize(
    ("command", "code", "argv"),
    table_rows(),
    ids=[f"{r[0]}-{r[1]}" for r in table_rows()],
)
def test_exit_codes_and_widths(
    in_examples: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    code: int,
    argv: list[str],
    width: int,
) -> None:
    if command not in commands():
        pytest.skip(f"{command} is not registered")
    if command in ("demo-data", "preview") and code == 0:
        pytest.importorskip("skimage" if command == "demo-data" else "matplotlib")
        argv = [f"{width}-{a}" if a in ("demo", "grid.png") else a for a in argv]
    monkeypatch.setenv("COLUMNS", str(width))
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert "…" not in out + err  # nothing cut to fit
    if code == 2:
        assert "━" not in err  # an argument error comes before any progress bar
    if argv[:2] == ["validate", "bad-data"]:
        assert LONG_NAME in out  # a path breaks only after a separator, never inside a name
    if command == "assess" and code == 0:
        assert len(out.splitlines()) <= 40  # no tall narrow cells
    if command != "bench":  # bench widens piped output to 132 columns (bench/render.py)
        tables = [line for line in out.splitlines() if "│" in line or "┃" in line]
        assert all(len(line) <= width for line in tables)  # a table shows only when it fits


def test_help_shows_each_default_once_and_every_option_has_help() -> None:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    formatter = HelpFormatter("dali-pipelines")
    for name, sub in action.choices.items():
        for option in sub._actions:
            if isinstance(option, argparse._HelpAction):
                continue
            where = f"{name} {option.option_strings or option.dest}"
            assert option.help, where
            text = formatter._get_help_string(option) or ""
            assert text.count("(default") <= 1, where
            assert "default: None" not in text and "None:" not in text, where
            assert "['" not in text and "('" not in text, where  # no Python list as a default
        assert "(default: None)" not in sub.format_help(), name


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"dali-pipelines {__version__}"


@pytest.mark.parametrize(
    "spelling",
    ["cpu", "gpu", "gpu:1", "cuda", "cuda:0", "CUDA:1"],
    ids=lambda s: f"device={s}",  # an id "gpu" would read as the gpu marker (conftest)
)
def test_every_device_option_takes_the_loaders_spellings(spelling: str) -> None:
    parser = build_parser()
    for argv in (["check", "x"], ["contract", "x"], ["assess", "m:f"], ["bench"]):
        assert parser.parse_args([*argv, "--device", spelling]).device == parse_device(spelling)
    assert main(["check", "imagenet_val", "--device", spelling]) == 0


def test_a_device_spelling_nobody_knows_is_a_usage_error() -> None:
    for argv in (["check", "imagenet_val"], ["contract", "imagenet_val"], ["bench"]):
        assert main([*argv, "--device", "tpu"]) == 2
    assert main(["check", "imagenet_val", "--device", "auto"]) == 2  # a contract is one device
    assert main(["bench", "--device", "cuda:1", "--data", "missing"]) == 2  # GPU 0 or pick it


def test_contract_write_goes_under_the_current_folder(
    in_examples: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dali_pipelines.contracts.store import contract_dir

    shipped = contract_dir() / "imagenet_val.yaml"
    before = shipped.stat().st_mtime_ns
    assert main(["contract", "imagenet_val", "--write"]) == 0
    assert (in_examples / "contracts" / "imagenet_val.yaml").is_file()
    assert shipped.stat().st_mtime_ns == before  # never into the package
    assert main(["contract", "unnamed.yaml", "--write"]) == 2
    assert "pass --out PATH" in capsys.readouterr().err
    assert main(["contract", "unnamed.yaml", "--write", "--out", "u.yaml"]) == 0
    assert (in_examples / "u.yaml").is_file()
    assert main(["contract", "imagenet_val", "--out", "v.yaml"]) == 2  # --out needs --write


def test_quiet_and_verbose_set_the_package_loggers_level(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def logs(args: argparse.Namespace) -> int:
        log = logging.getLogger("dali_pipelines.some.module")
        log.error("an error")
        log.warning("a warning")
        log.info("an info")
        log.debug("a debug line")
        return 0

    monkeypatch.setattr(check_cli, "run", logs)
    shown = {}
    for flags in ([], ["-q"], ["-v"], ["-vv"]):
        assert main([*flags, "check", "x"]) == 0
        shown[" ".join(flags)] = capsys.readouterr().err
    assert main(["check", "x", "--verbose"]) == 0  # after the command too
    assert "an info" in capsys.readouterr().err
    levels = {
        k: [w for w in ("error", "warning", "info", "debug") if w in v] for k, v in shown.items()
    }
    assert levels == {
        "": ["error", "warning"],
        "-q": ["error"],
        "-v": ["error", "warning", "info"],
        "-vv": ["error", "warning", "info", "debug"],
    }
    assert logging.getLogger("dali_pipelines").handlers == []  # restored after the command


def test_verbose_reports_the_commands_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "check", "imagenet_val"]) == 0
    assert "check: exit 0 after" in capsys.readouterr().err
    assert main(["check", "imagenet_val"]) == 0
    assert "exit 0 after" not in capsys.readouterr().err
