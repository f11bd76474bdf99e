"""``validate``: verdicts on every file of tests/badfiles.py, cache, report, executors, CLI."""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dali_pipelines.cli.main import main
from dali_pipelines.data import validate_stages
from dali_pipelines.data.checks import DEFAULT_MAX_PIXELS, Check, check_bytes
from dali_pipelines.data.validate import (
    CACHE_NAME,
    SCHEMA_VERSION,
    PathList,
    ValidationReport,
    settings_key,
    validate,
)
from dali_pipelines.data.validate_cache import ResultCache
from dali_pipelines.errors import DatasetError
from tests.badfiles import BAD, BY_NAME, GOOD, KINDS, pattern, png_bytes, write_all

HAS_DALI = __import__("importlib").util.find_spec("nvidia.dali") is not None


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An ImageFolder with every kind of tests/badfiles.py in class ``a``."""
    root = tmp_path_factory.mktemp("badfiles")
    write_all(root / "a")
    return root


def verdicts(report: ValidationReport) -> dict[str, tuple[bool, str | None]]:
    return {Path(r.path).stem: (r.ok, r.reason) for r in report.files}


# -- verdicts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
@pytest.mark.parametrize("deep", [False, True], ids=["quick", "deep"])
def test_check_bytes_gives_the_tables_verdict(kind, deep: bool) -> None:
    check = check_bytes(kind.make(), max_pixels=DEFAULT_MAX_PIXELS, deep=deep)
    if kind.verdict == "good" or (not deep and not kind.quick):
        assert check.ok, check
        assert (check.height, check.width) == (
            (96, 64) if kind.name == "exif_rotated" else (64, 96)
        )
    else:
        assert (check.ok, check.reason) == (False, kind.reason), check.detail


def test_quick_validate_finds_exactly_the_bad_ones(bad_folder: Path) -> None:
    report = validate(bad_folder, workers=2)
    expected_bad = {k.name: k.reason for k in BAD if k.quick}
    assert {name: r for name, (ok, r) in verdicts(report).items() if not ok} == expected_bad
    assert report.counts()["files"] == len(KINDS)
    assert not report.ok and report.decoders == () and report.executor == "thread"


@pytest.mark.skipif(not HAS_DALI, reason="needs DALI")
def test_deep_validate_finds_exactly_the_bad_ones(bad_folder: Path) -> None:
    report = validate(bad_folder, deep=True, workers=2)
    assert report.decoders == ("pil", "dali")
    assert {name: r for name, (ok, r) in verdicts(report).items() if not ok} == {
        k.name: k.reason for k in BAD
    }
    assert {name for name, (ok, _) in verdicts(report).items() if ok} == {k.name for k in GOOD}


def test_deep_with_pil_only(bad_folder: Path) -> None:
    report = validate(bad_folder, deep=True, decoders=["pil"], workers=1)
    assert report.decoders == ("pil",)
    assert verdicts(report)["marker_in_scan"] == (False, "corrupt")


@pytest.mark.skipif(not HAS_DALI, reason="needs DALI")
def test_dali_stage_reports_the_files_only_dali_rejects(
    bad_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pretend every file passes the PIL checks: what remains bad is what DALI itself rejects.
    monkeypatch.setattr(validate_stages, "check_bytes", lambda *a, **k: Check(True, height=8))
    report = validate(bad_folder, deep=True, executor="thread", workers=2)
    failed = {Path(r.path).stem: r for r in report.bad}
    assert set(failed) == {k.name for k in KINDS if not k.dali_decodes}
    assert {(r.reason, r.decoder) for r in failed.values()} == {("decode_failed", "dali")}
    detail = failed["truncated_mid_scan"].detail
    assert detail.startswith("DALI: Failed to decode sample #0") and "Premature end" in detail
    assert "Image too large" in failed["huge_jpeg_header"].detail  # refused before allocating
    assert "nvImageCodec failure: '#4'" in failed["random_bytes"].detail


def test_max_pixels(bad_folder: Path) -> None:
    small = validate(bad_folder, max_pixels=100, workers=1)
    assert verdicts(small)["good_jpeg"] == (False, "too_many_pixels")
    # No limit: the huge headers pass the quick checks (PIL's own limit is off too; a deep
    # decode of them without a limit is tests/adversarial/test_files.py's, under a memory cap).
    quick = verdicts(validate(bad_folder, max_pixels=None))
    assert quick["huge_jpeg_header"] == quick["huge_png_header"] == (True, None)


def test_other_formats(tmp_path: Path) -> None:
    image = Image.fromarray(pattern())
    for fmt in ("BMP", "TIFF", "WEBP", "PPM"):
        buffer = io.BytesIO()
        image.save(buffer, format=fmt)
        assert check_bytes(buffer.getvalue(), max_pixels=None, deep=True).ok, fmt
    buffer = io.BytesIO()
    image.save(buffer, format="ICO")
    check = check_bytes(buffer.getvalue(), max_pixels=None)
    assert (check.reason, check.format) == ("unsupported_format", "ICO")
    broken = bytearray(png_bytes(image))
    broken[29] ^= 0xFF  # the IHDR CRC
    assert check_bytes(bytes(broken), max_pixels=None).reason == "corrupt"
    # Two-letter signatures that text starts with are "not an image" when PIL cannot read them.
    for text in (b"BMW 320d, 2009\n", b"P1 is the first priority\n", b"P"):
        assert check_bytes(text, max_pixels=None).reason == "not_image", text


class FailingSource(PathList):
    def read_bytes(self, index: int) -> np.ndarray:
        raise PermissionError(13, "Permission denied")


def test_unreadable_files_and_manifests(tmp_path: Path, bad_folder: Path) -> None:
    report = validate(FailingSource([str(tmp_path / "x.jpg")]), workers=1)
    assert (report.files[0].reason, report.files[0].detail) == (
        "unreadable",
        "PermissionError: Permission denied",
    )
    manifest = tmp_path / "list.txt"
    good = BY_NAME["good_jpeg"].filename
    manifest.write_text(f"# a comment\n{bad_folder}/a/{good}\n\n{bad_folder}/a/text.jpg\n")
    report = validate(manifest)
    assert [(Path(r.path).name, r.ok) for r in report.files] == [(good, True), ("text.jpg", False)]
    manifest.write_text("# nothing\n")
    with pytest.raises(DatasetError, match="one image path per line"):
        validate(manifest)


def test_process_executor_gives_the_same_verdicts(bad_folder: Path) -> None:
    threads = validate(bad_folder, deep=True, decoders=["pil"], workers=2, executor="thread")
    procs = validate(bad_folder, deep=True, decoders=["pil"], workers=2, executor="process")
    assert procs.executor == "process"
    assert [r.to_json() for r in procs.files] == [r.to_json() for r in threads.files]


# -- cache and report -----------------------------------------------------------------------------


def test_cache_reuses_unchanged_files(bad_folder: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache.sqlite"
    first = validate(bad_folder, cache=cache)
    assert first.counts()["cached"] == 0
    second = validate(bad_folder, cache=cache)
    assert second.counts()["cached"] == len(KINDS)
    assert [(r.ok, r.reason, r.detail) for r in second.files] == [
        (r.ok, r.reason, r.detail) for r in first.files
    ]
    # Another mode has its own rows; a changed file (size or mtime) is checked again.
    assert validate(bad_folder, cache=cache, deep=True, decoders=["pil"]).counts()["cached"] == 0
    path = bad_folder / "a" / BY_NAME["good_jpeg"].filename
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    third = validate(bad_folder, cache=cache)
    assert third.counts()["cached"] == len(KINDS) - 1
    assert not next(r for r in third.files if r.path == str(path)).cached


def test_cache_rows_and_unusable_cache(tmp_path: Path, bad_folder: Path) -> None:
    key = settings_key(False, (), DEFAULT_MAX_PIXELS)
    with ResultCache(tmp_path / "c.sqlite", key) as cache:
        cache.store("/x.jpg", 10, 20, {"ok": True})
    with ResultCache(tmp_path / "c.sqlite", key) as cache:
        assert cache.lookup("/x.jpg", 10, 20) == {"ok": True}
        assert cache.lookup("/x.jpg", 11, 20) is None
        assert len(cache) == 1
    not_sqlite = tmp_path / "not.sqlite"
    not_sqlite.write_text("hello" * 100)
    report = validate(bad_folder, cache=not_sqlite)
    assert report.notes and "not used" in report.notes[0]
    assert report.counts()["files"] == len(KINDS)


def test_json_report(bad_folder: Path, tmp_path: Path) -> None:
    report = validate(bad_folder)
    data = json.loads(report.write_json(tmp_path / "r.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["mode"] == "quick"
    assert data["counts"]["bad"] == len(report.bad)
    assert data["counts"]["reasons"]["truncated"] == sum(
        1 for k in BAD if k.reason == "truncated" and k.quick
    )
    first = data["files"][0]
    assert set(first) >= {"path", "ok", "reason", "detail", "decoder", "format", "bytes"}


# -- CLI ------------------------------------------------------------------------------------------


def test_cli_exit_codes_and_outputs(
    bad_folder: Path, jpeg_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.json"
    assert main(["validate", str(bad_folder), "--json", str(out), "--no-cache"]) == 1
    printed = capsys.readouterr().out
    assert "bad files by reason" in printed and "a/text.jpg" in printed
    assert json.loads(out.read_text())["counts"]["files"] == len(KINDS)
    assert not (bad_folder / CACHE_NAME).exists()

    clean = tmp_path / "clean"
    clean.mkdir()
    for path in sorted(jpeg_folder.rglob("*.jpg"))[:4]:
        (clean / path.parent.name).mkdir(exist_ok=True)
        (clean / path.parent.name / path.name).write_bytes(path.read_bytes())
    assert main(["validate", str(clean), "--max-pixels", "0"]) == 0
    assert "4 files: 4 ok, 0 bad" in capsys.readouterr().out
    assert (clean / CACHE_NAME).exists()
    assert main(["validate", str(clean), "--max-pixels", "0"]) == 0
    assert "4 from the cache" in capsys.readouterr().out

    assert main(["validate", str(tmp_path / "missing")]) == 2  # usage: no such DIR
    assert "expected an existing folder or file" in capsys.readouterr().err
    assert main(["validate", str(clean), "--decoders", "magic"]) == 2


def test_docs_list_every_kind() -> None:
    text = (Path(__file__).resolve().parents[2] / "docs" / "bad-data.md").read_text()
    missing = [kind.name for kind in KINDS if f"| `{kind.name}` |" not in text]
    assert not missing, f"docs/bad-data.md: add {missing} to the verdict table"


@pytest.mark.filterwarnings("ignore::UserWarning")  # PIL: "Corrupt EXIF data"
@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from([kind.make() for kind in GOOD]),
    st.lists(st.tuples(st.integers(0, 30_000), st.integers(0, 255)), max_size=8),
    st.none() | st.integers(0, 30_000),
)
def test_damaged_files_get_a_verdict_never_an_exception(
    data: bytes, flips: list[tuple[int, int]], cut: int | None
) -> None:
    damaged = bytearray(data)
    for position, value in flips:
        damaged[position % len(damaged)] = value
    if cut is not None:
        damaged = damaged[: cut % (len(damaged) + 1)]
    check = check_bytes(bytes(damaged), max_pixels=DEFAULT_MAX_PIXELS, deep=True)
    assert check.ok or check.reason is not None
