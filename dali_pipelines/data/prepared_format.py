"""The on-disk format of prepared data (``dali-pipelines prepare``), shared by writer and reader.

Layout of an output folder::

    OUT/prepared.json                   the manifest (written last after every shard; see below)
    OUT/shards/shard-000000.tar         samples, a WebDataset tar (uncompressed, ustar)
    OUT/shards/shard-000000.index.json  the shard's index: member extents and every column

Why a WebDataset tar: any tar tool lists and extracts it, the ``webdataset`` library and DALI's
``readers.webdataset`` read it as it is, and members are contiguous so a shard is read
sequentially; the index beside it makes every sample one ranged read (or a slice of a memory
map), which FFCV's single file gives too but in a format only FFCV reads.

Tar members of sample ``key`` (its position in the source, nine digits):

* ``<key>.<column>.<ext>`` per image column (``ext``: ``jpg``/``png``/... as kept, ``jpg`` when
  re-encoded, ``npy`` for every image with ``raw``: HWC uint8 pixels, :mod:`.npy`), the
  layout's column key (``images`` for a folder, the manifest column, ...);
* ``<key>.cls``: the first label as decimal text (WebDataset's convention), when there is one;
* ``<key>.json``: the sample's record (:class:`SampleRecord`) for standard tools.

Members are written with mtime 0, uid/gid 0, mode 0644 and no user names, so the same source and
options give the same bytes whatever the machine and the worker count.

The index (:class:`ShardIndex`) is columnar (one list per field) so that binding a million
samples parses lists, not a million objects. The manifest (:class:`PreparedManifest`) records
the source's fingerprint, the options, the outputs carried, the shards with their sizes and
SHA-256, the counts and every bad file with validate's reason. ``complete`` is false while a run
is under way: the manifest is rewritten after each shard, which is what an interrupted run
resumes from (``next_source_index``).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Final, Literal

from pydantic import Field, ValidationError

from .._model import Bool, Float, FrozenModel, Int
from ..errors import DatasetError

FORMAT: Final = "dali-pipelines-prepared"
INDEX_FORMAT: Final = "dali-pipelines-prepared-index"
VERSION: Final = 1
MANIFEST_NAME = "prepared.json"
SHARDS_DIR = "shards"
#: Digits of a sample key (its source index): sorts as numbers do up to a billion samples.
KEY_DIGITS = 9
#: The largest manifest or index read, in bytes (a bound on untrusted JSON).
MAX_JSON_BYTES = 512 * 1024 * 1024


def shard_name(number: int) -> str:
    return f"shard-{number:06d}.tar"


def index_name(shard: str) -> str:
    """``shard-000000.tar`` -> ``shard-000000.index.json``."""
    return f"{shard.removesuffix('.tar')}.index.json"


def sample_key(source_index: int) -> str:
    return f"{source_index:0{KEY_DIGITS}d}"


def member_name(key: str, column: str, ext: str) -> str:
    return f"{key}.{column}.{ext}"


class Options(FrozenModel):
    """What ``prepare`` was asked for; a resume must ask for the same. The descriptions are
    the help of ``dali-pipelines prepare``'s options."""

    max_side: Int | None = Field(
        default=None,
        ge=16,
        description="bound the longest side to N pixels (larger images are re-encoded)",
    )
    min_side: Int | None = Field(
        default=None,
        ge=16,
        description="bound the shortest side to N pixels instead (exclusive with --max-side)",
    )
    quality: Int = Field(default=90, ge=1, le=100, description="JPEG quality of re-encoded images")
    dct_scaling: Bool = Field(
        default=True,
        description="decode JPEGs at a reduced DCT scale (1/2, 1/4, 1/8) when the result is "
        "still at least --reducing-gap times the bounded size (libjpeg's scaled decode through "
        "PIL's draft)",
    )
    reducing_gap: Float = Field(
        default=2.0,
        ge=1.0,
        le=8.0,
        description="with DCT scaling: the decoded image keeps at least this many pixels per "
        "stored pixel, and Lanczos does the rest (PIL's reducing_gap: 1 is fastest, 2 is within "
        "half a grey level of a full decode, 8 never scales)",
    )
    max_shard_bytes: Int = Field(
        default=256 * 1024 * 1024,
        ge=1,
        description="close a shard before it would exceed N bytes (a single larger sample gets "
        "a shard of its own)",
    )
    max_shard_samples: Int = Field(
        default=100_000, ge=1, description="close a shard before it would hold more than N samples"
    )
    raw: Bool = Field(
        default=False,
        description="store every image as raw uint8 pixels (a .npy member, HWC, oriented and "
        "converted as the loader does: L stays L, else RGB) so loading needs no decode: for "
        "tiny images (CIFAR-like); an image over 1 MP after the bound is refused",
    )
    max_pixels: Int | None = Field(
        default=None,
        ge=1,
        description="pixels one image may hold when decoded (validate's max_pixels; default: "
        "no limit)",
    )


class SourceInfo(FrozenModel):
    kind: str
    location: str
    fingerprint: str
    samples: Int


class ShardEntry(FrozenModel):
    name: str
    samples: Int
    bytes: Int
    sha256: str
    #: Source index of the shard's first sample (keys are source indices).
    first_source_index: Int


class BadFile(FrozenModel):
    source_index: Int
    path: str
    reason: str
    detail: str = ""


class Counts(FrozenModel):
    samples: Int = 0
    #: Images stored byte for byte (already within the bound) and re-encoded ones.
    kept: Int = 0
    reencoded: Int = 0
    bad: Int = 0
    bytes_in: Int = 0
    bytes_out: Int = 0


class PreparedManifest(FrozenModel):
    format: Literal["dali-pipelines-prepared"] = FORMAT
    version: Literal[1] = VERSION
    complete: Bool
    source: SourceInfo
    options: Options
    #: The spec ``source`` section the samples were bound with (its ``outputs``), as JSON.
    outputs: tuple[dict[str, Any], ...]
    #: Per label column: its class names in index order, when the source had names.
    classes: dict[str, tuple[str, ...] | None] = {}
    #: Per label column: the class count when known (the contract's value range).
    num_classes: dict[str, Int | None] = {}
    shards: tuple[ShardEntry, ...] = ()
    counts: Counts = Counts()
    bad: tuple[BadFile, ...] = ()
    #: The source index the next run starts from (``source.samples`` when complete).
    next_source_index: Int = 0
    created_by: str = ""


class ImageColumnIndex(FrozenModel):
    """One image column of a shard, one entry per sample."""

    offset: tuple[Int, ...]
    size: tuple[Int, ...]
    ext: tuple[str, ...]
    #: Size as decoded (after EXIF orientation), and the source image's.
    width: tuple[Int, ...]
    height: tuple[Int, ...]
    source_width: tuple[Int, ...]
    source_height: tuple[Int, ...]
    #: True: the source's bytes as they were; False: re-encoded at the bound.
    kept: tuple[bool, ...]


class BoxesIndex(FrozenModel):
    """Boxes of a shard: sample ``i`` owns rows ``start[i] : start[i] + count[i]``."""

    start: tuple[Int, ...]
    count: tuple[Int, ...]
    #: (x1, y1, x2, y2) in pixels of the stored image (scaled exactly with it).
    xyxy: tuple[tuple[float, float, float, float], ...]
    labels: tuple[Int, ...]


class ShardIndex(FrozenModel):
    format: Literal["dali-pipelines-prepared-index"] = INDEX_FORMAT
    version: Literal[1] = VERSION
    shard: str
    bytes: Int
    sha256: str
    keys: tuple[str, ...]
    source_index: tuple[Int, ...]
    #: The source's name of each sample (its file), for messages.
    paths: tuple[str, ...]
    images: dict[str, ImageColumnIndex]
    labels: dict[str, tuple[Int, ...]] = {}
    features: dict[str, tuple[float, ...]] = {}
    boxes: dict[str, BoxesIndex] = {}


class SampleRecord(FrozenModel):
    """``<key>.json`` inside a shard: one sample for readers that do not use the index."""

    source_index: Int
    path: str
    images: dict[str, dict[str, Any]]
    labels: dict[str, Int] = {}
    features: dict[str, float] = {}
    boxes: dict[str, dict[str, Any]] = {}


def read_json_model(path: Path, model: type[FrozenModel], what: str) -> Any:
    """``model`` from the JSON file ``path``; a :class:`DatasetError` names the file and field."""
    try:
        size = os.stat(path).st_size
    except OSError as exc:
        raise DatasetError(f"{path}: expected a {what}, got {exc.strerror}") from exc
    if size > MAX_JSON_BYTES:
        raise DatasetError(f"{path}: expected at most {MAX_JSON_BYTES} bytes, got {size}")
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise DatasetError(f"{path}: expected a {what} (JSON), got {exc}") from exc
    return parse_json_model(raw, str(path), model, what)


def parse_json_model(raw: bytes, where: str, model: type[FrozenModel], what: str) -> Any:
    """``model`` from JSON bytes (a remote object's); ``where`` names them in errors."""
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise DatasetError(f"{where}: expected a {what} (JSON), got {exc}") from exc
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "(top level)"
        raise DatasetError(
            f"{where}: {field}: expected a valid {what}, got {first['msg']}"
        ) from None


def write_json_atomic(path: Path, model: FrozenModel) -> None:
    """Write ``model`` as JSON to ``path`` via a temporary file and a rename."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(model.model_dump_json(), encoding="utf-8")
    os.replace(temporary, path)


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
