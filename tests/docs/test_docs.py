"""Every ```python block in README.md and docs/*.md runs, in order, one namespace per file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import write_image_folder

ROOT = Path(__file__).resolve().parents[2]
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize("path", DOCS, ids=lambda p: p.name)
def test_code_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocks = BLOCK.findall(path.read_text(encoding="utf-8"))
    if not blocks:
        pytest.skip(f"{path.name} has no python blocks")
    # The docs read a dataset at ./data: a small generated ImageFolder.
    write_image_folder(tmp_path / "data", classes=2, per_class=5, min_side=240, max_side=300)
    if path.name == "audio.md":  # as `dali-pipelines demo-data audio --modality audio` makes it
        from dali_pipelines.data.demo_audio import make_demo_audio

        make_demo_audio(tmp_path / "audio", n=24, long_seconds=30.0)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs_{path.stem}"}
    for number, block in enumerate(blocks, 1):
        code = compile(block, f"{path.name}[block {number}]", "exec")
        exec(code, namespace)
