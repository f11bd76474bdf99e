"""Data and tables for the execution core's conformance suite (``test_conformance.py``).

Every source kind is written from one list of encoded images, so sample ``i`` of every source is
the same picture, and every source says which sample a delivered row was (its *identity*):

* ImageFolder: one class folder per sample (``s000``, ``s001``, ...), the label is the identity;
* Manifest (CSV): a feature column ``idx`` holding the sample index;
* WebDataset (3 uneven local shards): the ``.cls`` member holds the sample index;
* Coco: one box per image whose category is the image's own, so the box class is the identity;
* Prepared: the Manifest's data through ``prepare`` (images kept byte for byte, several shards),
  its ``idx`` feature the identity; Prepared raw: the same stored as raw ``.npy`` pixels.

Bad files (a truncated JPEG, an empty file, garbage bytes) are appended after the good samples;
``Source.bad`` holds their identities. ``prepare`` leaves bad files out, so the prepared source
stores good images in their place and then overwrites those members' bytes with garbage.
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from dali_pipelines import register_python_op
from tests.backends.conformance_audio import (
    AUDIO_OPS,
    AUDIO_SECTION,
    bad_audio,
    good_audio,
    write_audio_folder,
    write_audio_manifest,
    write_audio_shards,
)
from tests.badfiles import BY_NAME
from tests.conftest import smooth_image

#: Samples per source (14: batches of 4 give 4, 4, 4, 2), sides of 40-64 px.
NUM_SAMPLES = 14
BATCH = 4
SEED = 7
WORLD = 3
#: Bad files appended for the skip check: neither PIL nor DALI reads them.
BAD_KINDS = ("truncated_mid_scan", "zero_bytes", "random_bytes")

PYTHON_OP = "conformance_channel_noise"


@register_python_op(PYTHON_OP)
def channel_noise(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A registered numpy op drawing from its per-sample generator (seed, epoch, index)."""
    shift = rng.integers(-12, 13, size=image.shape[-1])
    return np.clip(image.astype(np.int16) + shift, 0, 255).astype(np.uint8)


RANDOM_OPS: list[dict[str, Any]] = [
    {"op": "random_resized_crop", "size": [32, 32], "scale": [0.3, 1.0]},
    {"op": "horizontal_flip", "p": 0.5},
    {"op": "color_jitter", "brightness": 0.3, "contrast": 0.3, "saturation": 0.3},
    {"op": "normalize", "mean": [0.485, 0.456, 0.406], "std": [0.229, 0.224, 0.225]},
]


# -- executors --------------------------------------------------------------------------------


#: Why a combination is refused by design (a regex of the DaliPipelinesError it must raise).
CLASSIC_ONLY = r"expected the classic one image \+ label sample"
BOXES_ALIGNED = r"expected an op that keeps boxes aligned .* got python"


@dataclass(frozen=True)
class Executor:
    """One way of running a spec: the loader arguments and whether the spec gets a Python op.

    ``refuses``: (source kind, error regex) for combinations refused by design: building the
    loader must raise :class:`DaliPipelinesError` matching the regex instead of running.
    """

    name: str
    loader: dict[str, Any]
    python_op: bool = False
    refuses: tuple[tuple[str, str], ...] = ()
    #: Runs image specs over image sources, or audio specs over audio sources.
    modality: str = "image"

    def ops(self) -> list[dict[str, Any]]:
        if self.modality == "audio":
            return list(AUDIO_OPS)
        if not self.python_op:
            return list(RANDOM_OPS)
        # After the crop (small images), before the flip, jitter and normalize.
        return [RANDOM_OPS[0], {"op": "python", "name": PYTHON_OP}, *RANDOM_OPS[1:]]

    def refusal(self, kind: str) -> str | None:
        return dict(self.refuses).get(kind)


EXECUTORS: tuple[Executor, ...] = (
    Executor("dali", {"backend": "dali"}),
    Executor(
        "dali-inline-python",
        {"backend": "dali", "python_placement": "inline"},
        python_op=True,
        # A registered op cannot declare itself pixel-wise: the planner refuses it with boxes.
        refuses=(("coco", BOXES_ALIGNED),),
    ),
    Executor(
        "dali-worker-stages",
        {"backend": "dali", "python_placement": "workers", "python_workers": 2},
        python_op=True,
        # Worker stages need the classic sample (docs/sources.md, Limits); with boxes the
        # Python op is refused first, when the spec is planned.
        refuses=(
            ("manifest", CLASSIC_ONLY),
            ("webdataset", CLASSIC_ONLY),
            ("coco", f"{BOXES_ALIGNED}|{CLASSIC_ONLY}"),
            ("prepared", CLASSIC_ONLY),
            ("prepared-raw", CLASSIC_ONLY),
        ),
    ),
    Executor("reference-pil", {"backend": "reference"}),
    Executor("reference-tvio", {"backend": "reference-tvio"}),
    Executor("dali-audio", {"backend": "dali"}, modality="audio"),
    Executor("reference-audio", {"backend": "reference"}, modality="audio"),
)


# -- sources ----------------------------------------------------------------------------------


def good_images(count: int = NUM_SAMPLES, seed: int = 0) -> list[bytes]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        height, width = (int(v) for v in rng.integers(40, 65, size=2))
        buffer = io.BytesIO()
        Image.fromarray(smooth_image(rng, height, width)).save(buffer, format="JPEG", quality=90)
        out.append(buffer.getvalue())
    return out


def bad_images() -> list[bytes]:
    return [BY_NAME[name].make() for name in BAD_KINDS]


@dataclass
class Source:
    """A written source: how to open it, the spec's ``source`` section, how to read identities."""

    kind: str
    open: Callable[[], Any]
    section: dict[str, Any] | None
    #: batch -> the identity (sample index) of each delivered row.
    identities: Callable[[Sequence[Any]], list[int]]
    size: int
    #: Identities of the bad files appended after the good samples (empty without them).
    bad: frozenset[int] = frozenset()

    @property
    def modality(self) -> str:
        return "audio" if self.kind.startswith("audio") else "image"

    def spec(self, executor: Executor) -> dict[str, Any]:
        spec: dict[str, Any] = {"ops": executor.ops()}
        if self.modality == "audio":
            spec["audio"] = AUDIO_SECTION
        if self.section is not None:
            spec["source"] = self.section
        return spec


def _ints(values: torch.Tensor) -> list[int]:
    return [int(v) for v in values.reshape(-1).tolist()]


def write_image_folder(root: Path, images: list[bytes], good: int) -> Source:
    for i, data in enumerate(images):
        folder = root / f"s{i:03d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "img.jpg").write_bytes(data)  # bad files keep the .jpg name too
    from dali_pipelines import ImageFolder

    def identities(batch: Sequence[Any]) -> list[int]:
        return _ints(batch[1])  # one class per sample, sorted names: label == index

    bad = frozenset(range(good, len(images)))
    return Source("folder", lambda: ImageFolder(root), None, identities, len(images), bad)


def write_manifest(root: Path, images: list[bytes], good: int) -> Source:
    (root / "img").mkdir(parents=True, exist_ok=True)
    path = root / "manifest.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["image", "idx", "score", "label"])
        for i, data in enumerate(images):
            (root / "img" / f"{i}.jpg").write_bytes(data)
            writer.writerow([f"img/{i}.jpg", i, i * 0.25 - 1, ("cat", "dog", "eel")[i % 3]])
    section = {
        "outputs": [
            {"kind": "image", "name": "image"},
            {"kind": "features", "columns": ["idx", "score"]},
            {"kind": "label"},
        ]
    }
    from dali_pipelines import Manifest

    def identities(batch: Sequence[Any]) -> list[int]:
        return _ints(batch[1][:, 0])

    bad = frozenset(range(good, len(images)))
    return Source("manifest", lambda: Manifest(path), section, identities, len(images), bad)


def add_member(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(root: Path, images: list[bytes], good: int) -> Source:
    root.mkdir(parents=True, exist_ok=True)
    n = len(images)
    bounds = [0, n // 4, n // 4 + n // 3, n]  # three uneven shards
    paths = []
    for shard in range(3):
        path = root / f"shard-{shard:03d}.tar"
        with tarfile.open(path, "w") as tar:
            for i in range(bounds[shard], bounds[shard + 1]):
                add_member(tar, f"s{i:05d}.jpg", images[i])
                add_member(tar, f"s{i:05d}.cls", str(i).encode())
        paths.append(str(path))
    section = {
        "outputs": [
            {"kind": "image", "name": "image", "column": "jpg"},
            {"kind": "label", "column": "cls"},
        ]
    }
    from dali_pipelines import WebDataset

    def identities(batch: Sequence[Any]) -> list[int]:
        return _ints(batch[1])

    bad = frozenset(range(good, n))
    return Source("webdataset", lambda: WebDataset(paths), section, identities, n, bad)


def write_coco(root: Path, images: list[bytes], good: int) -> Source:
    folder = root / "images"
    folder.mkdir(parents=True, exist_ok=True)
    entries, annotations = [], []
    for i, data in enumerate(images):
        name = f"im{i:03d}.jpg"
        (folder / name).write_bytes(data)
        image_id = 1000 - i  # ids sorted descending: the dataset order reverses the files
        entries.append({"id": image_id, "file_name": name})
        annotations.append(
            {
                "id": i,
                "image_id": image_id,
                "category_id": 500 - i,  # sorted category ids reverse too
                "bbox": [4, 6, 20, 14],
                "iscrowd": 0,
            }
        )
    categories = [{"id": 500 - i, "name": f"c{i}"} for i in range(len(images))]
    path = root / "instances.json"
    path.write_text(
        json.dumps({"images": entries, "annotations": annotations, "categories": categories})
    )
    section = {"outputs": [{"kind": "image", "name": "image"}, {"kind": "boxes"}]}
    from dali_pipelines import Coco

    n = len(images)

    def identities(batch: Sequence[Any]) -> list[int]:
        # Dataset order is by image id (descending files): dataset index d is file n-1-d, whose
        # category (500 - (n-1-d)) is the d-th smallest id: the box class equals d.
        classes = batch[2]
        if classes.shape[0] == 0:  # every sample of the batch skipped
            return []
        assert classes.shape[1:] == (1,), classes.shape
        return _ints(classes[:, 0])

    bad = frozenset(n - 1 - i for i in range(good, n))  # file i is dataset index n - 1 - i
    return Source("coco", lambda: Coco(path, folder), section, identities, n, bad)


#: A prepared shard closes before this many bytes: 14 samples (an image of 1-2 KB, its record
#: and label members) make 4-5 shards.
PREPARED_SHARD_BYTES = 20_000


def write_prepared(root: Path, images: list[bytes], good: int, raw: bool = False) -> Source:
    from dali_pipelines import Prepared, load_spec
    from dali_pipelines.preparation import prepare

    n = len(images)
    stored = images[:good] + good_images(n - good, seed=1)  # prepare would leave bad files out
    manifest = write_manifest(root / "src", stored, good)
    spec = load_spec({"ops": RANDOM_OPS, "source": manifest.section})
    out = root / "out"
    prepare(
        root / "src" / "manifest.csv",
        out,
        spec=spec,
        workers=1,
        max_shard_bytes=PREPARED_SHARD_BYTES * (4 if raw else 1),
        raw=raw,
    )
    dataset = Prepared(out)
    assert len(dataset.paths) >= 3 and len(dataset) == n, (dataset, dataset.manifest.counts)
    garbage = np.random.default_rng(2)
    for index, source_index in enumerate(dataset.source_indices().tolist()):
        if source_index >= good:  # same length, in place: the tar stays valid, the bytes not
            shard, offset, size = dataset.extent(index, "image")
            with open(shard, "r+b") as handle:
                handle.seek(offset)
                handle.write(garbage.integers(0, 256, size, dtype=np.uint8).tobytes())
    dataset.close()

    bad = frozenset(range(good, n))
    kind = "prepared-raw" if raw else "prepared"
    return Source(kind, lambda: Prepared(out), manifest.section, manifest.identities, n, bad)


def write_prepared_raw(root: Path, images: list[bytes], good: int) -> Source:
    """The prepared source stored as raw pixels (``.npy`` members): no decode step; its bad
    samples are npy members overwritten with garbage (a bad header)."""
    return write_prepared(root, images, good, raw=True)


SOURCES: dict[str, Callable[[Path, list[bytes], int], Source]] = {
    "folder": write_image_folder,
    "manifest": write_manifest,
    "webdataset": write_shards,
    "coco": write_coco,
    "prepared": write_prepared,
    "prepared-raw": write_prepared_raw,
    "audio-folder": write_audio_folder,
    "audio-manifest": write_audio_manifest,
    "audio-webdataset": write_audio_shards,
}


def modality_of(kind: str) -> str:
    return "audio" if kind.startswith("audio") else "image"


def good_data(kind: str) -> list[bytes]:
    """The good samples of a source kind: images, or audio clips."""
    return good_audio(NUM_SAMPLES) if modality_of(kind) == "audio" else good_images()


def bad_data(kind: str) -> list[bytes]:
    return bad_audio() if modality_of(kind) == "audio" else bad_images()
