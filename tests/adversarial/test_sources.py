"""Hostile manifests, tar shards and COCO files (issue 12, items 2, 8 and 9).

Each probe runs in a child process under a memory and a time limit (``run_limited``), so a
regression fails its test instead of exhausting the machine. A probe prints one line: ``OK``
and a value, ``DatasetError:`` and the message, or ``RAW`` and an exception that is not the
project's; the test matches that line.
"""

from __future__ import annotations

import io
import json
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.adversarial.limits import run_limited

PRELUDE = """
from dali_pipelines import load_spec
from dali_pipelines.data.coco import Coco
from dali_pipelines.data.manifest import Manifest, ManifestLimits
from dali_pipelines.data.webdataset import WebDataset
from dali_pipelines.errors import DatasetError
from dali_pipelines.plan import make_plan


def layout(*outputs):
    spec = {"ops": [{"op": "resize", "size": [8, 8]}], "source": {"outputs": list(outputs)}}
    return make_plan(load_spec(spec)).layout


IMAGE = {"kind": "image", "name": "image"}
LABEL = {"kind": "label"}


def outcome(fn):
    try:
        value = fn()
    except DatasetError as exc:
        return "DatasetError: " + str(exc)[:500]
    except BaseException as exc:
        return "RAW " + type(exc).__name__ + ": " + str(exc)[:300]
    return "OK " + repr(value)[:500]
"""


def probe(code: str, *, memory_mb: int = 1024, seconds: float = 60.0) -> str:
    """Run ``code`` after the prelude in a limited child; its last printed line."""
    done = run_limited(PRELUDE + code, memory_mb=memory_mb, seconds=seconds)
    assert not done.timed_out, f"probe ran past {seconds} s\n{done.stderr[-2000:]}"
    assert done.returncode == 0, done.stderr[-3000:]
    return done.last_line


def png(path: Path, value: int) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(buffer, format="PNG")
    path.write_bytes(buffer.getvalue())
    return buffer.getvalue()


# -- item 2: a manifest cannot make the loader read another file ----------------------------------
def test_csv_quoted_newline_stays_in_the_path(tmp_path: Path) -> None:
    wanted = png(tmp_path / "a\nb.png", 200)
    png(tmp_path / "ab.png", 10)  # what splitting lines used to read
    (tmp_path / "m.csv").write_bytes(b'image,label\r\n"a\nb.png",0\r\n')
    line = probe(f"""
m = Manifest({str(tmp_path / "m.csv")!r})
bound = m.bind(layout(IMAGE, LABEL))
print(outcome(lambda: (len(m), bound.images[0](0).tobytes().hex(), bound.labels[0](0))))
""")
    assert line == f"OK {(1, wanted.hex(), 0)!r}"


@pytest.mark.parametrize(
    "separator", ["\u2028", "\u2029", "\u0085", "\x1c", "\x1e", "\x0b", "\x0c"]
)
def test_jsonl_line_separators_stay_inside_strings(tmp_path: Path, separator: str) -> None:
    name = f"x{separator}y.png"
    wanted = png(tmp_path / name, 77)
    png(tmp_path / "x.png", 1)
    rows = [{"image": name, "label": "cat"}, {"image": "x.png", "label": f"d{separator}g"}]
    text = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    (tmp_path / "m.jsonl").write_text(text, encoding="utf-8")
    line = probe(f"""
m = Manifest({str(tmp_path / "m.jsonl")!r})
bound = m.bind(layout(IMAGE, LABEL))
print(outcome(lambda: (len(m), bound.images[0](0).tobytes().hex(), m.rows[1]["label"])))
""")
    assert line == f"OK {(2, wanted.hex(), f'd{separator}g')!r}"


def test_csv_with_bom_crlf_and_blank_lines_still_reads(tmp_path: Path) -> None:
    png(tmp_path / "p.png", 5)
    (tmp_path / "m.csv").write_bytes(b"\xef\xbb\xbfimage,label\r\n\r\np.png,dog\r\np.png,cat")
    line = probe(f"""
m = Manifest({str(tmp_path / "m.csv")!r})
bound = m.bind(layout(IMAGE, LABEL))
print(outcome(lambda: (m.columns, len(m), [bound.labels[0](i) for i in (0, 1)])))
""")
    assert line == f"OK {(('image', 'label'), 2, [1, 0])!r}"


@pytest.mark.parametrize(
    ("limit", "content", "message"),
    [
        (
            "max_bytes=64",
            "image\n" + "p.png\n" * 20,
            r"at most 64 bytes \(ManifestLimits.max_bytes\)",
        ),
        ("max_rows=3", "image\n" + "p.png\n" * 4, r"at most 3 rows \(ManifestLimits.max_rows\)"),
        ("max_row_bytes=16", "image\n" + "p" * 20 + "\n", r"line 2: expected at most 16 bytes"),
        ("max_row_bytes=16", 'image\n"p\n' + "p\n" * 9 + '"\n', r"line 9: expected a row of"),
        (
            "max_columns=3",
            "a,b,c,d\n1,2,3,4\n",
            r"at most 3 columns \(ManifestLimits.max_columns\)",
        ),
    ],
    ids=["max_bytes", "max_rows", "max_row_bytes_line", "max_row_bytes_record", "max_columns"],
)
def test_limits_are_enforced_and_named(
    tmp_path: Path, limit: str, content: str, message: str
) -> None:
    (tmp_path / "m.csv").write_text(content)
    line = probe(
        f"print(outcome(lambda: Manifest({str(tmp_path / 'm.csv')!r}, "
        f"limits=ManifestLimits({limit}))))"
    )
    assert line.startswith("DatasetError: ") and re.search(message, line), line


def test_limits_are_checked(tmp_path: Path) -> None:
    line = probe("print(outcome(lambda: ManifestLimits(max_rows=0)))")
    assert line == "DatasetError: ManifestLimits.max_rows: expected an int >= 1, got 0"


def test_an_oversized_manifest_is_refused_before_it_is_read(tmp_path: Path) -> None:
    with open(tmp_path / "huge.csv", "wb") as handle:  # sparse: 1.5 GiB of zeros, no disk
        handle.write(b"image\n")
        handle.truncate(3 << 29)
    line = probe(f"print(outcome(lambda: Manifest({str(tmp_path / 'huge.csv')!r})))", memory_mb=512)
    assert re.fullmatch(
        r"DatasetError: .*huge\.csv: expected at most 1073741824 bytes "
        r"\(ManifestLimits\.max_bytes\), got 1610612736",
        line,
    )


def test_jsonl_distinct_keys_per_line_hit_the_column_limit(tmp_path: Path) -> None:
    with open(tmp_path / "m.jsonl", "w") as handle:
        for i in range(20_000):
            handle.write(json.dumps({f"k{i}": 1}) + "\n")
    line = probe(f"print(outcome(lambda: Manifest({str(tmp_path / 'm.jsonl')!r})))", memory_mb=768)
    assert "at most 10000 columns (ManifestLimits.max_columns), got 10001" in line


def test_tiny_unused_cells_cost_no_python_objects(tmp_path: Path) -> None:
    # 48 MiB of two-character cells: kept as parsed rows this took ~1.4 GB (29x the file).
    row = ",".join(f"{i:02d}" for i in range(40)) + "\n"
    with open(tmp_path / "m.csv", "w") as handle:
        handle.write(",".join(f"c{i}" for i in range(40)) + "\n")
        handle.write(row * ((48 << 20) // len(row)))
    line = probe(
        f"""
import resource
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
m = Manifest({str(tmp_path / "m.csv")!r})
grown = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) // 1024  # MiB
print(outcome(lambda: (len(m) > 400_000, grown < 200)))
""",
        memory_mb=768,
        seconds=120,
    )
    assert line == "OK (True, True)"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[" * 200_000 + "]" * 200_000, r"line 1: expected a JSON object, got invalid JSON"),
        ('{"image": ' + "1" * 5000 + "}", r"line 1: expected a JSON object, got invalid JSON"),
        ('{"image": "p.png"} x', r"line 1: expected a JSON object, got invalid JSON"),
    ],
    ids=["deep_nesting", "5000_digits", "trailing_text"],
)
def test_hostile_jsonl_lines_are_dataset_errors(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "m.jsonl").write_text(text + "\n")
    line = probe(f"print(outcome(lambda: Manifest({str(tmp_path / 'm.jsonl')!r})))")
    assert line.startswith("DatasetError: ") and re.search(message, line), line


def test_duplicate_and_malformed_csv_headers(tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("image,image\np.png,q.png\n")
    (tmp_path / "q.csv").write_text("image\n" + "p" * 200_000 + "\n")  # csv's field limit
    line = probe(f"""
print(outcome(lambda: Manifest({str(tmp_path / "d.csv")!r})))
print(outcome(lambda: Manifest({str(tmp_path / "q.csv")!r})).replace(chr(10), " "))
""")
    assert re.fullmatch(r"DatasetError: .*q\.csv line 2: expected CSV, got malformed CSV.*", line)
    first = probe(f"print(outcome(lambda: Manifest({str(tmp_path / 'd.csv')!r})))")
    assert first.endswith("d.csv: expected distinct column names, got 'image' twice")


# -- item 8: errors that are not the project's -------------------------------------------------
@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            "9223372036854775808",
            r"row 2, column 'label': expected a class index >= 0 and < 2\*\*63",
        ),
        ("9" * 5000, r"row 2, column 'label': expected a class index below 2\*\*63"),
        ("-1", r"row 2, column 'label': expected a class index >= 0"),
    ],
    ids=["2**63", "5000_digits", "negative"],
)
def test_labels_beyond_int64_are_refused_when_bound(
    tmp_path: Path, cell: str, message: str
) -> None:
    png(tmp_path / "p.png", 1)
    (tmp_path / "m.csv").write_text(f"image,label\np.png,9223372036854775807\np.png,{cell}\n")
    line = probe(f"""
m = Manifest({str(tmp_path / "m.csv")!r})
print(outcome(lambda: m.bind(layout(IMAGE, LABEL))))
""")
    assert line.startswith("DatasetError: m.csv ") and re.search(message, line), line


def test_a_json_label_beyond_int64_is_refused_by_the_loader(tmp_path: Path) -> None:
    png(tmp_path / "p.png", 1)
    rows = [{"image": "p.png", "label": 3}, {"image": "p.png", "label": 2**64}]
    (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    line = probe(
        f"""
from dali_pipelines import DataLoader
spec = {{"ops": [{{"op": "resize", "size": [8, 8]}}], "source": {{"outputs": [IMAGE, LABEL]}}}}
def run():
    with DataLoader(Manifest({str(tmp_path / "m.jsonl")!r}), spec, batch_size=2,
                    backend="reference") as loader:
        return [b[1].tolist() for b in loader]
print(outcome(run))
""",
        memory_mb=6144,
        seconds=120,
    )
    assert line == (
        "DatasetError: m.jsonl row 2, column 'label': expected a class index >= 0 and "
        "< 2**63 (int64), got 18446744073709551616"
    )


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1e39", r"expected a finite float32 \(\|x\| <= 3.4e38\), got '1e39'"),
        (10**400, r"expected a number, got 1000000"),
        ("inf", r"expected a finite number, got 'inf'"),
    ],
    ids=["1e39", "10**400", "inf"],
)
def test_features_that_float32_cannot_hold_are_refused(
    tmp_path: Path, value: object, message: str
) -> None:
    png(tmp_path / "p.png", 1)
    (tmp_path / "m.jsonl").write_text(json.dumps({"image": "p.png", "speed": value}) + "\n")
    line = probe(f"""
m = Manifest({str(tmp_path / "m.jsonl")!r})
print(outcome(lambda: m.bind(layout(IMAGE, {{"kind": "features", "columns": ["speed"]}}))))
""")
    assert line.startswith("DatasetError: m.jsonl row 1, column 'speed': "), line
    assert re.search(message, line), line


@pytest.mark.parametrize("suffix", ["csv", "jsonl"])
def test_non_utf8_manifests_name_the_file_and_line(tmp_path: Path, suffix: str) -> None:
    body = b'{"image": "p\xff.png"}\n' if suffix == "jsonl" else b"image\np.png\np\xff.png\n"
    (tmp_path / f"m.{suffix}").write_bytes(body)
    line = probe(f"print(outcome(lambda: Manifest({str(tmp_path / f'm.{suffix}')!r})))")
    number = 1 if suffix == "jsonl" else 3
    assert re.fullmatch(
        rf"DatasetError: .*m\.{suffix} line {number}: expected UTF-8 text, got bytes 0xff at "
        r"byte \d+ of the line",
        line,
    ), line


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_a_nul_in_a_path_names_the_row(tmp_path: Path, fmt: str) -> None:
    png(tmp_path / "p.png", 1)
    if fmt == "csv":
        (tmp_path / "m.csv").write_bytes(b"image\np.png\np\x00.png\n")
    else:
        rows = [{"image": "p.png"}, {"image": "p\x00.png"}]
        (tmp_path / "m.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    line = probe(f"""
m = Manifest({str(tmp_path / f"m.{fmt}")!r})
print(outcome(lambda: m.bind(layout(IMAGE))))
""")
    assert line.startswith(f"DatasetError: m.{fmt} row 2, column 'image': "), line
    assert "NUL" in line, line


def _tar(path: Path, members: dict[str, bytes]) -> Path:
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path


@pytest.mark.parametrize(
    ("label", "message"),
    [
        (b"\xffcat", r"s0\.cls: expected UTF-8 text, got bytes 0xff at byte 1"),
        (b"7" * 70_000, r"s0\.cls: expected a label or number of at most 65536 bytes"),
        (b"99999999999999999999", r"sample 's0', column 'cls': expected a class index below"),
    ],
    ids=["not_utf8", "70000_bytes", "beyond_int64"],
)
def test_tar_labels_that_are_not_text_name_the_member(
    tmp_path: Path, label: bytes, message: str
) -> None:
    jpg = png(tmp_path / "x.png", 3)
    shard = _tar(tmp_path / "s.tar", {"s0.png": jpg, "s0.cls": label})
    line = probe(f"""
ds = WebDataset({str(shard)!r})
print(outcome(lambda: ds.bind(layout({{"kind": "image", "name": "image", "column": "png"}},
                                      {{"kind": "label", "column": "cls"}}))))
""")
    assert line.startswith("DatasetError: ") and re.search(message, line), line


def test_a_truncated_tar_is_refused_not_allocated(tmp_path: Path) -> None:
    shard = _tar(tmp_path / "s.tar", {"s0.png": b"x" * 20_000, "s0.cls": b"1"})
    data = shard.read_bytes()
    shard.write_bytes(data[: 512 + 1000])  # the header promises 20,000 bytes
    line = probe(f"print(outcome(lambda: WebDataset({str(shard)!r})))")
    assert re.fullmatch(
        r"DatasetError: .*s\.tar: expected member 's0\.png' inside the file \(1512 bytes\), "
        r"got 20000 bytes at offset 512 \(a truncated or damaged tar\)",
        line,
    ), line


def test_a_forged_index_cache_is_rebuilt(tmp_path: Path) -> None:
    jpg = png(tmp_path / "x.png", 3)
    shard = _tar(tmp_path / "s.tar", {"s0.png": jpg, "s0.cls": b"1"})
    line = probe(f"""
import json
ds = WebDataset({str(shard)!r})  # writes the cache
cache = {str(shard) + ".idx.json"!r}
data = json.load(open(cache))
data["samples"][0][1]["png"] = [512, 1 << 40]  # a terabyte read
json.dump(data, open(cache, "w"))
again = WebDataset({str(shard)!r})
print(outcome(lambda: again.read_member(0, "png").tobytes().hex()))
""")
    assert line == f"OK {jpg.hex()!r}"


# -- item 9: COCO category ids ---------------------------------------------------------------
def _coco(tmp_path: Path, **edits: object) -> tuple[Path, Path]:
    images = tmp_path / "images"
    images.mkdir(exist_ok=True)
    png(images / "a.png", 9)
    png(images / "b.png", 9)
    data: dict[str, object] = {
        "images": [{"id": 4, "file_name": "a.png"}, {"id": 2, "file_name": "b.png"}],
        "annotations": [
            {"id": 1, "image_id": 4, "category_id": 90, "bbox": [0, 0, 2, 2]},
            {"id": 2, "image_id": 4, "category_id": 1, "bbox": [1, 1, 1, 1]},
            {"id": 3, "image_id": 2, "category_id": 18, "bbox": [0, 1, 3, 2]},
        ],
        "categories": [
            {"id": 90, "name": "toothbrush"},
            {"id": 1, "name": "person"},
            {"id": 18, "name": "dog"},
        ],
        **edits,
    }
    path = tmp_path / "instances.json"
    path.write_text(json.dumps(data))
    return path, images


def test_coco_keeps_category_ids(tmp_path: Path) -> None:
    annotations, images = _coco(tmp_path)
    line = probe(f"""
BOXES = layout({{"kind": "image", "name": "image"}}, {{"kind": "boxes"}})
ds = Coco({str(annotations)!r}, {str(images)!r})
raw = Coco({str(annotations)!r}, {str(images)!r}, box_labels="category_id")
by_index = [ds.boxes(i)[1].tolist() for i in range(2)]
mapped = [[ds.category_ids[k] for k in labels] for labels in by_index]
kept = [raw.boxes(i)[1].tolist() for i in range(2)]
bounds = (ds.bind(BOXES).num_classes, raw.bind(BOXES).num_classes)
print(outcome(lambda: (ds.category_ids, ds.classes, by_index, mapped, kept, bounds)))
""")
    expected = (
        [1, 18, 90],
        ["person", "dog", "toothbrush"],
        [[1], [2, 0]],  # image 2 first (sorted ids); labels index the sorted category ids
        [[18], [90, 1]],
        [[18], [90, 1]],
        (3, 91),
    )
    assert line == f"OK {expected!r}"


def test_coco_category_ids_through_the_loader(tmp_path: Path) -> None:
    annotations, images = _coco(tmp_path)
    line = probe(
        f"""
from dali_pipelines import DataLoader
spec = {{"ops": [{{"op": "resize", "size": [8, 8]}}],
         "source": {{"outputs": [{{"kind": "image", "name": "image"}}, {{"kind": "boxes"}}]}}}}
def run():
    ds = Coco({str(annotations)!r}, {str(images)!r}, box_labels="category_id")
    with DataLoader(ds, spec, batch_size=2, backend="reference", as_dict=True) as loader:
        batch = next(iter(loader))
        return batch["boxes_labels"].tolist(), loader.contract.tensor("boxes_labels").value_range
print(outcome(run))
""",
        memory_mb=6144,
        seconds=120,
    )
    assert line == f"OK {([[18, -1], [90, 1]], (-1.0, 90.0))!r}"


@pytest.mark.parametrize(
    ("edits", "message"),
    [
        (
            {"categories": [{"id": 1.0, "name": "x"}]},
            r"categories\[0\]\.id: expected an integer id, got 1\.0",
        ),
        ({"categories": [{"id": "7"}]}, r"categories\[0\]\.id: expected an integer id, got '7'"),
        (
            {"categories": [{"id": 1}, {"id": 1}]},
            r"categories\[1\]\.id: expected a unique id, got 1",
        ),
        (
            {"images": [{"id": 4, "file_name": "a.png"}, {"id": 4, "file_name": "b.png"}]},
            r"images\[1\]\.id: expected a unique id, got 4 again",
        ),
        ({"images": [{"id": True, "file_name": "a.png"}]}, r"images\[0\]\.id: expected an integer"),
        (
            {"images": [{"id": 2, "file_name": "b.png"}, {"id": 4, "file_name": "a\x00.png"}]},
            r"image id 4: .*NUL",
        ),
        (
            {"categories": [{"id": 2**70}]},
            r"categories\[0\]\.id: expected an id >= 0 and < 2\*\*63",
        ),
    ],
    ids=[
        "float_id",
        "text_id",
        "duplicate_category",
        "duplicate_image",
        "bool_id",
        "nul_name",
        "2**70",
    ],
)
def test_coco_ids_are_checked_not_coerced(
    tmp_path: Path, edits: dict[str, object], message: str
) -> None:
    annotations, images = _coco(tmp_path, **edits)
    line = probe(f"print(outcome(lambda: Coco({str(annotations)!r}, {str(images)!r})))")
    assert line.startswith("DatasetError: instances.json") and re.search(message, line), line


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"images": [], "x": "\xff"}', r"expected COCO JSON, got bytes that are not UTF-8"),
        (b"[" * 100_000 + b"]" * 100_000, r"expected COCO JSON, got invalid JSON"),
        (b'{"images": [{"id": 1' + b"0" * 5000 + b"}]}", r"expected COCO JSON, got invalid JSON"),
    ],
    ids=["not_utf8", "deep_nesting", "5000_digits"],
)
def test_hostile_coco_files_are_dataset_errors(
    tmp_path: Path, content: bytes, message: str
) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "instances.json").write_bytes(content)
    line = probe(
        f"print(outcome(lambda: Coco({str(tmp_path / 'instances.json')!r}, "
        f"{str(tmp_path / 'images')!r})))"
    )
    assert line.startswith("DatasetError: instances.json") and re.search(message, line), line


def test_an_oversized_coco_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    with open(tmp_path / "instances.json", "wb") as handle:
        handle.truncate(5 << 20)
    line = probe(
        f"print(outcome(lambda: Coco({str(tmp_path / 'instances.json')!r}, "
        f"{str(tmp_path / 'images')!r}, max_bytes=1 << 20)))",
        memory_mb=512,
    )
    assert line.endswith("expected at most 1048576 bytes (Coco.max_bytes), got 5242880"), line
