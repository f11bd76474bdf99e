"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file.

The blocks run where a user runs them: in a folder holding ``data/``, the demo ImageFolder made
as the README says (``dali-pipelines demo-data data``, with a small ``--n`` so the suite stays
fast), and ``audio/`` (``dali-pipelines demo-data audio --modality audio``). Each is made once
per session by the command itself and copied into every test's temporary folder. No block may
write into either: the file list (names, sizes, mtimes) is compared after every block.
"""

from __future__ import annotations

import linecache
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)

#: Demo images: uneven against the docs' batch sizes, and at least the 10 samples the
#: WebDataset example of sources.md shards.
DEMO_IMAGES = 30
DEMO_CLIPS = 24


def _cli() -> list[str]:
    """The ``dali-pipelines`` console script of this interpreter's environment."""
    script = Path(sys.executable).with_name("dali-pipelines")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "dali_pipelines.cli.main"]


def _demo(folder: Path, *args: str) -> Path:
    result = subprocess.run(
        [*_cli(), "demo-data", str(folder), *args, "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    return folder


@pytest.fixture(scope="session")
def demo_images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _demo(tmp_path_factory.mktemp("demo") / "data", "--n", str(DEMO_IMAGES))


@pytest.fixture(scope="session")
def demo_audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _demo(
        tmp_path_factory.mktemp("demo-audio") / "audio",
        "--modality",
        "audio",
        "--n",
        str(DEMO_CLIPS),
        "--long-seconds",
        "30",
    )


#: The package's own caches (``AudioFolder``'s headers, ``validate``'s verdicts), which it keeps
#: in a dataset folder by design and which are never samples: the only files a block may add.
PACKAGE_CACHE = ".dali-pipelines-"


def _snapshot(folder: Path) -> dict[str, tuple[int, int]]:
    """Every file under ``folder`` (other dot-files included): relative path -> (size, mtime)."""
    files: dict[str, tuple[int, int]] = {}
    for dirpath, _, names in os.walk(folder):
        for name in names:
            if name.startswith(PACKAGE_CACHE):
                continue
            path = Path(dirpath, name)
            stat = path.lstat()
            files[path.relative_to(folder).as_posix()] = (stat.st_size, stat.st_mtime_ns)
    return files


def _changes(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]]) -> str:
    added = sorted(after.keys() - before.keys())
    removed = sorted(before.keys() - after.keys())
    changed = sorted(k for k in before.keys() & after.keys() if before[k] != after[k])
    parts = [
        f"{what}: {names}"
        for what, names in (("added", added), ("removed", removed), ("changed", changed))
        if names
    ]
    return "; ".join(parts)


def test_snapshot_sees_a_write(tmp_path: Path) -> None:
    (tmp_path / "class_0").mkdir()
    (tmp_path / "class_0" / "a.jpg").write_bytes(b"x")
    before = _snapshot(tmp_path)
    (tmp_path / "class_0" / "empty.jpg").write_bytes(b"")
    (tmp_path / ".cache.sqlite").write_bytes(b"")
    (tmp_path / ".dali-pipelines-audio-headers.json").write_bytes(b"{}")
    (tmp_path / "class_0" / "a.jpg").write_bytes(b"yy")
    assert _changes(before, _snapshot(tmp_path)) == (
        "added: ['.cache.sqlite', 'class_0/empty.jpg']; changed: ['class_0/a.jpg']"
    )


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_code_blocks_run(
    path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> None:
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    # A fresh copy of the user's folders: ./data, and ./audio for the pages that read audio.
    user_data = {"data": shutil.copytree(request.getfixturevalue("demo_images"), tmp_path / "data")}
    if any("audio/" in block for block in blocks):
        user_data["audio"] = shutil.copytree(
            request.getfixturevalue("demo_audio"), tmp_path / "audio"
        )
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for number, block in enumerate(blocks, 1):
        where = f"{path.name}[block {number}]"
        before = {name: _snapshot(folder) for name, folder in user_data.items()}
        linecache.cache[where] = (len(block), None, block.splitlines(True), where)  # tracebacks
        exec(compile(block, where, "exec"), namespace)
        for name, folder in user_data.items():
            changes = _changes(before[name], _snapshot(folder))
            assert not changes, f"{where} wrote into the user's {name}/: {changes}"


LINK = re.compile(r"\]\((?:\./)?(docs/)?([\w.-]+\.md)\)")


def test_readme_links_every_doc() -> None:
    linked = {name for _, name in LINK.findall((ROOT / "README.md").read_text(encoding="utf-8"))}
    missing = sorted(p.name for p in (ROOT / "docs").glob("*.md") if p.name not in linked)
    assert not missing, f"README.md: link {missing}"
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    for command in ("validate", "assess", "check", "preview"):
        assert f"dali-pipelines {command}" in text, command


def test_quickstart_points_onwards() -> None:
    text = (ROOT / "docs" / "quickstart.md").read_text(encoding="utf-8")
    linked = {name for _, name in LINK.findall(text)}
    assert {"hybrid.md", "bad-data.md", "distributed.md"} <= linked
    assert "dali-pipelines validate" in text and "dali-pipelines assess" in text
