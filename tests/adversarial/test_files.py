"""Hostile files (issue 12, items 3, 4 and 8): special and oversized files, images over PIL's
decompression-bomb limit, NUL bytes in paths, a file where a folder is expected.

Probes that could hang (a FIFO) or exhaust memory (``/dev/zero``, a bomb header decoded without
a limit) on a regression run in a child process under :func:`run_limited`; the others run here.
The cases that already worked (truncated, empty, garbage files, huge headers with ``max_pixels``
set) are in the same probes, so they stay working.
"""

from __future__ import annotations

import io
import json
import os
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from dali_pipelines import DataLoader, ImageFolder, Manifest
from dali_pipelines.cli.main import main
from dali_pipelines.data.folder import FolderSamples
from dali_pipelines.data.paths import read_file
from dali_pipelines.data.pil import DEFAULT_MAX_PIXELS, decode_pil, pixel_limit
from dali_pipelines.data.probe import probe_header
from dali_pipelines.data.read import DEFAULT_MAX_FILE_BYTES, read_regular
from dali_pipelines.data.validate import PathList, validate
from dali_pipelines.errors import (
    DaliPipelinesError,
    DatasetError,
    FileRefusedError,
    SampleDecodeError,
    TooManyPixelsError,
)
from tests.adversarial.limits import run_limited
from tests.badfiles import BY_NAME

SPEC = {"ops": [{"op": "resize", "size": [16, 16]}], "output": {"dtype": "uint8"}}
BACKENDS = ["dali", "reference"]
#: Above twice PIL's limit (PIL refuses it outright) yet a valid image.
LARGE_SIDE = 14_000
#: Between PIL's limit and twice it (PIL warns).
WARNED_SIDE = 10_000
#: A sparse file just over the default max_file_bytes: no disk, no memory to write.
OVERSIZED = DEFAULT_MAX_FILE_BYTES + 4096


def _chunk(kind: bytes, payload: bytes) -> bytes:
    crc = zlib.crc32(kind + payload)
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)


def gray_png(side: int) -> bytes:
    """A valid side x side 8-bit grayscale PNG of one gray level, written row by row (~0.4 s
    and ~1 MB for 14000 x 14000; PIL's encoder takes ~4 s)."""
    row = b"\x00" + b"\x80" * side
    compress = zlib.compressobj(1)
    body = b"".join([compress.compress(row) for _ in range(side)] + [compress.flush()])
    header = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", body)
        + _chunk(b"IEND", b"")
    )


@pytest.fixture(scope="module")
def large_png() -> bytes:
    return gray_png(LARGE_SIDE)


def _large_folder(root: Path, data: bytes) -> Path:
    BY_NAME["good_jpeg"].write(root / "a")
    (root / "b").mkdir(parents=True)
    (root / "b" / "large.png").write_bytes(data)
    return root


def hostile_folder(root: Path) -> dict[str, str]:
    """Good files, the bad files that always worked, and the special and oversized ones.
    Name -> how the loader's reason starts ("": delivered)."""
    folder = root / "a"
    expected: dict[str, str] = {}
    for name in ("good_jpeg", "grayscale_jpeg", "png_named_jpg"):
        expected[BY_NAME[name].write(folder).name] = ""
    for name in ("truncated_in_headers", "random_bytes", "text"):
        expected[BY_NAME[name].write(folder).name] = "not a readable image"
    expected[BY_NAME["zero_bytes"].write(folder).name] = "empty file"
    for name in ("huge_jpeg_header", "huge_png_header"):
        expected[BY_NAME[name].write(folder).name] = "too many pixels: 50000x50000"
    os.symlink("/dev/zero", folder / "zero.jpg")
    expected["zero.jpg"] = "not a regular file: character device"
    os.mkfifo(folder / "fifo.jpg")
    expected["fifo.jpg"] = "not a regular file: FIFO"
    with open(folder / "sparse.jpg", "wb") as handle:
        handle.truncate(OVERSIZED)
    expected["sparse.jpg"] = f"file larger than max_file_bytes={DEFAULT_MAX_FILE_BYTES}"
    return expected


# -- item 3: max_pixels=None is no limit, in every decoder path --------------------------------


@pytest.mark.filterwarnings("error")  # PIL's DecompressionBombWarning included
def test_pil_limit_is_set_per_call(large_png: bytes) -> None:
    assert probe_header(large_png).size == (LARGE_SIDE, LARGE_SIDE)
    assert decode_pil(large_png, "grayscale", max_pixels=None).size == (LARGE_SIDE, LARGE_SIDE)
    warned = gray_png(WARNED_SIDE)  # PIL warns between its limit and twice it: not here
    assert decode_pil(warned, "grayscale", max_pixels=None).size == (WARNED_SIDE, WARNED_SIDE)
    with pytest.raises(TooManyPixelsError, match=r"14000x14000 = 196000000 > max_pixels=1000"):
        decode_pil(large_png, max_pixels=1000)
    # PIL's own limit is untouched: outside our calls, and in another thread during one.
    assert Image.MAX_IMAGE_PIXELS == DEFAULT_MAX_PIXELS
    with pytest.raises(Image.DecompressionBombError):
        Image.open(io.BytesIO(large_png))
    seen: list[BaseException] = []

    def open_elsewhere() -> None:
        try:
            Image.open(io.BytesIO(large_png))
        except BaseException as exc:
            seen.append(exc)

    with pixel_limit(None):
        thread = threading.Thread(target=open_elsewhere)
        thread.start()
        thread.join()
    assert [type(e) for e in seen] == [Image.DecompressionBombError]


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_loader_max_pixels_none_delivers_a_large_png(
    tmp_path: Path, large_png: bytes, backend: str
) -> None:
    root = _large_folder(tmp_path / "data", large_png)
    args: dict[str, Any] = {"batch_size": 2, "backend": backend, "num_threads": 1}
    with DataLoader(ImageFolder(root), SPEC, max_pixels=None, **args) as loader:
        images, labels = next(iter(loader))
    assert tuple(images.shape) == (2, 3, 16, 16) and labels.tolist() == [0, 1]
    # With a limit the refusal says it is one, with the numbers and the setting.
    with (
        DataLoader(ImageFolder(root), SPEC, **args) as loader,
        pytest.raises(SampleDecodeError) as info,
    ):
        next(iter(loader))
    message = str(info.value)
    assert "too many pixels: 14000x14000 = 196000000 > max_pixels=89478485" in message
    assert "None for no limit" in message and "not a readable image" not in message


def test_validate_max_pixels_none_and_zero(
    tmp_path: Path, large_png: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _large_folder(tmp_path / "data", large_png)
    for deep in (False, True):
        report = validate(root, max_pixels=None, deep=deep, decoders=["pil"], workers=1)
        assert report.ok, [(r.path, r.reason, r.detail) for r in report.bad]
    limited = validate(root, workers=1)
    [refused] = limited.bad
    assert refused.reason == "too_many_pixels"
    assert "196,000,000 pixels > max_pixels 89,478,485" in refused.detail
    assert main(["validate", str(root), "--max-pixels", "0", "--no-cache"]) == 0
    assert "2 files: 2 ok, 0 bad" in capsys.readouterr().out


# -- item 4: special and oversized files, bounded by RLIMIT_AS and a timeout -----------------

_LOADER_PROBE = """
import json
from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.data.folder import FolderSamples
from dali_pipelines.errors import SampleDecodeError
spec = {{"ops": [{{"op": "resize", "size": [16, 16]}}], "output": {{"dtype": "uint8"}}}}
args = dict(batch_size=3, backend={backend!r}, num_threads=1)
loader = DataLoader(ImageFolder({root!r}), spec, on_error="skip", **args)
with loader:
    delivered = sum(len(labels) for _, labels in loader)
    skipped = dict(loader.skipped[0])
raised = []
for name in ("zero.jpg", "fifo.jpg", "sparse.jpg"):  # on_error="raise": one bad file each
    keep = [s for s in ImageFolder({root!r}).samples if s[0].endswith((name, "good_jpeg.jpg"))]
    try:
        with DataLoader(FolderSamples({root!r}, keep, ["a"]), spec, **args) as strict:
            list(strict)
    except SampleDecodeError as exc:
        raised.append([exc.path, str(exc)])
print(json.dumps({{"delivered": delivered, "skipped": skipped, "raised": raised}}))
"""


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_loader_special_and_bad_files(tmp_path: Path, backend: str) -> None:
    expected = hostile_folder(tmp_path / "data")
    root = str(tmp_path / "data")
    done = run_limited(_LOADER_PROBE.format(backend=backend, root=root), seconds=240)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.last_line)
    good = sorted(name for name, reason in expected.items() if not reason)
    assert result["delivered"] == len(good)
    skipped = {Path(path).name: reason for path, reason in result["skipped"].items()}
    assert sorted(skipped) == sorted(name for name, reason in expected.items() if reason)
    for name, reason in skipped.items():
        assert reason.startswith(expected[name]), (name, reason)
    assert [Path(path).name for path, _ in result["raised"]] == [
        "zero.jpg",
        "fifo.jpg",
        "sparse.jpg",
    ]
    for path, message in result["raised"]:
        assert path in message and expected[Path(path).name] in message


_VALIDATE_PROBE = """
import json
from dali_pipelines.cli.main import main
from dali_pipelines.data.validate import validate
verdicts = {{}}
for deep in (False, True):
    report = validate({root!r}, deep=deep, decoders=["pil"], workers=2, cache=None)
    verdicts[str(deep)] = {{r.path.rsplit("/", 1)[1]: [r.reason, r.detail] for r in report.files}}
code = main(["validate", {root!r}, "--no-cache", "--workers", "2"])
print(json.dumps({{"verdicts": verdicts, "code": code}}))
"""


def test_validate_special_and_bad_files(tmp_path: Path) -> None:
    hostile_folder(tmp_path / "data")
    root = str(tmp_path / "data")
    done = run_limited(_VALIDATE_PROBE.format(root=root), memory_mb=1536, seconds=120)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.last_line)
    assert result["code"] == 1
    for verdicts in result["verdicts"].values():
        assert verdicts["zero.jpg"] == ["not_regular_file", "not a regular file: character device"]
        assert verdicts["fifo.jpg"] == ["not_regular_file", "not a regular file: FIFO"]
        assert verdicts["sparse.jpg"][0] == "too_many_bytes"
        assert f"max_file_bytes={DEFAULT_MAX_FILE_BYTES}" in verdicts["sparse.jpg"][1]
        assert verdicts["zero_bytes.jpg"][0] == "empty"
        assert verdicts["random_bytes.jpg"][0] == "not_image"
        assert verdicts["truncated_in_headers.jpg"][0] == "truncated"
        assert verdicts["huge_jpeg_header.jpg"][0] == "too_many_pixels"
        assert verdicts["huge_png_header.png"][0] == "too_many_pixels"
        assert verdicts["good_jpeg.jpg"][0] is None


_BOMB_PROBE = """
import json
from dali_pipelines.data.checks import check_bytes
from tests.badfiles import BY_NAME
check = check_bytes(BY_NAME["huge_png_header"].make(), max_pixels=None, deep=True)
print(json.dumps([check.ok, check.reason, check.detail]))
"""


def test_bomb_header_without_a_limit_gets_a_verdict() -> None:
    """max_pixels=None decodes a 50000x50000 header for real: under a memory cap that is a
    verdict (PIL's "truncated", or too_many_pixels when the allocation fails), not a crash."""
    done = run_limited(_BOMB_PROBE, memory_mb=1536, seconds=60)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    ok, reason, _ = json.loads(done.last_line)
    assert not ok and reason in ("truncated", "too_many_pixels")


_READER_PROBE = """
import json, os
from dali_pipelines.data.paths import read_file
from dali_pipelines.data.read import read_regular
from dali_pipelines.errors import FileRefusedError
out = []
for path in {paths!r}:
    for read in (lambda p: read_regular(p), lambda p: read_file([p], 0)):
        try:
            out.append(len(read(path)))
        except FileRefusedError as exc:
            out.append([exc.code, exc.reason])
        except OSError as exc:
            out.append(["OSError", os.strerror(exc.errno)])
print(json.dumps(out))
"""


def test_readers_refuse_special_and_oversized_files(tmp_path: Path) -> None:
    """The reader under ImageFolder, and the one under Manifest and Coco (``read_file``, which
    also refuses a link: the path was resolved and checked when the manifest was bound)."""
    os.mkfifo(tmp_path / "fifo.jpg")
    with open(tmp_path / "sparse.jpg", "wb") as handle:
        handle.truncate(OVERSIZED)
    (tmp_path / "ok.jpg").write_bytes(b"12345")
    paths = [str(tmp_path / n) for n in ("fifo.jpg", "sparse.jpg", "ok.jpg")] + ["/dev/zero"]
    done = run_limited(_READER_PROBE.format(paths=paths), memory_mb=1024, seconds=30)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    fifo, fifo2, sparse, sparse2, ok, ok2, zero, zero2 = json.loads(done.last_line)
    assert fifo == fifo2 == ["not_regular_file", "not a regular file: FIFO"]
    too_large = f"file larger than max_file_bytes={DEFAULT_MAX_FILE_BYTES} ({OVERSIZED} bytes)"
    assert sparse == sparse2 == ["too_many_bytes", too_large]
    assert ok == ok2 == 5
    assert zero == zero2 == ["not_regular_file", "not a regular file: character device"]


def test_max_file_bytes_is_overridable(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.jpg").write_bytes(BY_NAME["good_jpeg"].make())
    size = (tmp_path / "a" / "x.jpg").stat().st_size
    with pytest.raises(FileRefusedError, match=f"max_file_bytes=100 \\({size} bytes\\)"):
        ImageFolder(tmp_path, max_file_bytes=100).read_bytes(0)
    assert len(ImageFolder(tmp_path, max_file_bytes=None).read_bytes(0)) == size
    report = validate(tmp_path, max_file_bytes=100, workers=1)
    assert [(r.reason, r.ok) for r in report.files] == [("too_many_bytes", False)]
    assert validate(tmp_path, max_file_bytes=size, workers=1).ok
    with pytest.raises(DatasetError, match="max_file_bytes: expected None or an int >= 1"):
        ImageFolder(tmp_path, max_file_bytes=0)


# -- item 8: NUL bytes in paths, a file given for a folder, CSV manifests in validate ---------


def test_nul_in_a_path_is_ours_and_names_it(tmp_path: Path) -> None:
    manifest = tmp_path / "rows.csv"
    manifest.write_text("images,label\nok.jpg,0\nbad\x00name.jpg,1\n")
    (tmp_path / "ok.jpg").write_bytes(BY_NAME["good_jpeg"].make())
    with pytest.raises(DatasetError, match=r"rows.csv row 2, column 'images'.*NUL"):
        DataLoader(Manifest(manifest), SPEC, batch_size=2, backend="reference")
    listing = tmp_path / "files.txt"
    listing.write_text("ok.jpg\nbad\x00name.jpg\n")
    with pytest.raises(DatasetError, match=r"files.txt line 2: expected a path without NUL"):
        validate(listing)
    report = validate(PathList([str(tmp_path / "ok.jpg"), "bad\x00name.jpg"]), workers=1)
    assert [r.reason for r in report.files] == [None, "unreadable"]
    assert "NUL" in report.files[1].detail
    samples = FolderSamples(tmp_path, [("x\x00.jpg", 0)], ["a"])
    with pytest.raises(FileRefusedError, match="NUL") as info:
        samples.read_bytes(0)
    assert isinstance(info.value, DaliPipelinesError) and "x\\x00.jpg" in str(info.value)
    for read in (read_regular, lambda path: read_file([path], 0)):
        with pytest.raises(FileRefusedError, match="NUL"):
            read("a\x00b")


def test_validate_given_a_file_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image = BY_NAME["good_jpeg"].write(tmp_path)
    binary = tmp_path / "blob.bin"
    binary.write_bytes(bytes(range(256)) * 4)
    for path, got in ((image, "got an image file (JPEG)"), (binary, "got a binary file")):
        assert main(["validate", str(path)]) == 2
        err = capsys.readouterr().err
        assert "expected an ImageFolder directory or a manifest" in " ".join(err.split())
        assert got in " ".join(err.split()) and "Traceback" not in err


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_validate_reads_a_manifest_by_its_image_columns(tmp_path: Path, suffix: str) -> None:
    good = BY_NAME["good_jpeg"].write(tmp_path / "img").name
    bad = BY_NAME["truncated_mid_scan"].write(tmp_path / "img").name
    rows = [
        {"frame_a": f"img/{good}", "frame_b": f"img/{bad}", "speed": 0.5, "label": "cat"},
        {"frame_a": f"img/{good}", "frame_b": f"img/{good}", "speed": 1.0, "label": "dog"},
    ]
    manifest = tmp_path / f"clips{suffix}"
    if suffix == ".csv":
        lines = [",".join(rows[0])] + [",".join(str(v) for v in row.values()) for row in rows]
        manifest.write_text("\n".join(lines) + "\n")
    else:
        manifest.write_text("".join(json.dumps(row) + "\n" for row in rows))
    report = validate(manifest, workers=1)
    assert [(Path(r.path).name, r.reason) for r in report.files] == [
        (good, None),
        (bad, "truncated"),
    ]
    only_a = validate(manifest, columns=["frame_a"], workers=1)
    assert [Path(r.path).name for r in only_a.files] == [good] and only_a.ok
    assert main(["validate", str(manifest), "--columns", "frame_a", "--no-cache"]) == 0
    with pytest.raises(DatasetError, match="expected image columns"):
        validate(manifest, columns=["speed", "nope"])
