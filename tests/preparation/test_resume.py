"""An interrupted ``dali-pipelines prepare`` (SIGKILL) run again equals an uninterrupted run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dali_pipelines.cli.main import main
from dali_pipelines.errors import DatasetError
from dali_pipelines.preparation import prepare
from tests.preparation.helpers import files, write_folder

ROOT = Path(__file__).resolve().parents[2]
#: The CLI with every sample slowed down, so that a kill lands in the middle of the run.
SLOW_CLI = """
import sys, time
import dali_pipelines.preparation.run as run
original = run.process_sample
def slow(*args, **kwargs):
    time.sleep(0.03)
    return original(*args, **kwargs)
run.process_sample = slow
from dali_pipelines.cli.main import main
sys.exit(main(sys.argv[1:]))
"""
OPTIONS = ["--max-side", "32", "--max-shard-bytes", "10240", "--workers", "2", "-q"]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_folder(tmp_path_factory.mktemp("src"), [(40 + i % 5, 60) for i in range(30)])
    (root / "class0" / "005x_bad.jpg").write_bytes(b"\xff\xd8\xff\xe0 cut")
    return root


@pytest.fixture(scope="module")
def uninterrupted(source: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, bytes]:
    out = tmp_path_factory.mktemp("whole") / "out"
    assert main(["prepare", str(source), str(out), *OPTIONS]) == 1  # one bad file
    return files(out)


def _kill_when(source: Path, out: Path, name: str) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_CLI, "prepare", str(source), str(out), *OPTIONS],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    try:
        while not (out / "shards" / name).exists():
            assert process.poll() is None, "the run ended before it could be interrupted"
            assert time.monotonic() < deadline
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL


@pytest.mark.parametrize("name", ["shard-000000.index.json", "shard-000003.tar"])
def test_a_killed_run_resumes_to_the_same_bytes(
    source: Path, uninterrupted: dict[str, bytes], tmp_path: Path, name: str
) -> None:
    out = tmp_path / "out"
    _kill_when(source, out, name)
    interrupted = json.loads((out / "prepared.json").read_text())
    assert not interrupted["complete"]
    assert main(["prepare", str(source), str(out), *OPTIONS]) == 1
    assert files(out) == uninterrupted
    assert len(uninterrupted) > 8  # several shards, each with its index


def test_a_resume_with_other_options_is_refused(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _kill_when(source, out, "shard-000000.index.json")
    with pytest.raises(DatasetError, match=r"options\.max_side: expected 32 \(the run being"):
        prepare(str(source), out, max_side=48, max_shard_bytes=10240)
    with pytest.raises(DatasetError, match=r"options\.quality: expected 90"):
        prepare(str(source), out, max_side=32, max_shard_bytes=10240, quality=80)


def test_a_damaged_shard_is_not_resumed_from(source: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    _kill_when(source, out, "shard-000002.index.json")
    listed = json.loads((out / "prepared.json").read_text())["shards"]
    if not listed:  # killed before the manifest listed a shard: nothing to damage
        pytest.skip("no shard listed yet")
    shard = out / "shards" / listed[0]["name"]
    data = bytearray(shard.read_bytes())
    data[600] ^= 0xFF
    shard.write_bytes(bytes(data))
    with pytest.raises(DatasetError, match="sha256: expected"):
        prepare(str(source), out, max_side=32, max_shard_bytes=10240)
