"""The CLI's structure: subcommands register, parse, and fail with exit codes, not tracebacks."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from dali_pipelines.cli.main import COMMAND_MODULES, build_parser, main

PACKAGE = Path(__file__).resolve().parents[2] / "dali_pipelines"


def test_help_and_version_return_zero(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "demo-data" in out and "bench" in out
    assert main(["--version"]) == 0
    assert "dali-pipelines" in capsys.readouterr().out


def test_usage_errors_return_two(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert main(["no-such-command"]) == 2
    assert main(["bench", "--threads", "0"]) == 2
    assert "expected a positive integer" in capsys.readouterr().err


def test_every_command_module_registers_a_handler() -> None:
    parser = build_parser()
    subparsers = next(a for a in parser._actions if a.dest == "command")
    names = set(subparsers.choices)  # type: ignore[arg-type]
    assert len(names) == len(COMMAND_MODULES)
    for name in names:
        sub = subparsers.choices[name]  # type: ignore[index]
        # One placeholder per required positional (OUT, SPEC, DIR, MODULE:ATTR, ...).
        positionals = [a for a in sub._actions if not a.option_strings and a.required]
        args = parser.parse_args([name, *("X" for _ in positionals)])
        assert callable(args.handler)


def test_bench_options() -> None:
    args = build_parser().parse_args(
        ["bench", "--data", "d", "--spec", "s.yaml", "--batch-size", "8", "--threads", "3",
         "--epochs", "4", "--warmup", "0", "--json", "o.json", "--n", "50", "--device", "cpu"]
    )  # fmt: skip
    assert (args.data, args.spec, args.batch_size, args.threads) == (Path("d"), "s.yaml", 8, 3)
    assert (args.reps, args.warmup, args.json, args.n, args.device) == (
        4, 0, Path("o.json"), 50, "cpu"
    )  # fmt: skip
    defaults = build_parser().parse_args(["bench"])
    assert (defaults.n, defaults.classes, defaults.threads, defaults.spec) == (
        2000, 10, 2, "imagenet_train"
    )  # fmt: skip
    assert defaults.data is None and defaults.json is None


def test_demo_data_options() -> None:
    args = build_parser().parse_args(["demo-data", "out", "--n", "5", "--classes", "2"])
    assert (args.out, args.n, args.classes, args.seed) == (Path("out"), 5, 2, 0)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = "." * node.level + (node.module or "")
            found.update(f"{base}.{alias.name}" for alias in node.names)
            found.add(base)
    return found


def test_layering_nothing_imports_cli_or_bench() -> None:
    """cli sits on top and bench is optional: the library must not depend on either."""
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in ("cli", "bench"):
            continue
        for name in _imports(path):
            parts = name.lstrip(".").split(".")
            if "cli" in parts or "bench" in parts:
                offenders.append(f"{rel}: {name}")
    assert not offenders


def test_bench_does_not_import_cli() -> None:
    for path in (PACKAGE / "bench").rglob("*.py"):
        assert not any("cli" in n.lstrip(".").split(".") for n in _imports(path)), path


def test_options_take_defaults_and_help_from_the_config_models() -> None:
    from dali_pipelines.bench.report import BenchConfig
    from dali_pipelines.loader.config import LoaderConfig

    parser = build_parser()
    defaults = parser.parse_args(["bench"])
    for name, info in BenchConfig.model_fields.items():
        if hasattr(defaults, name) and name != "sweep":  # --sweep is parsed to a dict later
            assert getattr(defaults, name) == info.get_default(call_default_factory=True), name
    subparsers = next(a for a in parser._actions if a.dest == "command")
    bench = subparsers.choices["bench"]  # type: ignore[index]
    by_dest = {a.dest: a for a in bench._actions}
    assert by_dest["batch_size"].help == BenchConfig.model_fields["batch_size"].description
    assert by_dest["device"].default == "auto"  # --device takes the loader's spellings
    assert parser.parse_args(["bench", "--device", "cuda:0"]).device == "gpu:0"
    assert main(["bench", "--warmup", "-1"]) == 2  # ge=0 parses as a non-negative int
    assess = parser.parse_args(["assess", "m:f"])
    assert assess.python_placement == LoaderConfig.model_fields["python_placement"].default
    assert main(["assess", "m:f", "--python-placement", "gpu"]) == 2
