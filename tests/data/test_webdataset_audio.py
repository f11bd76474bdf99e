"""WebDataset audio members: read as bytes, durations from their headers, cached per shard."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
import soundfile

from dali_pipelines.data import webdataset_audio
from dali_pipelines.data.audio_probe import AudioHeaderError, probe_audio
from dali_pipelines.data.webdataset import WebDataset
from dali_pipelines.errors import DatasetError, FileRefusedError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.layout import Layout
from dali_pipelines.spec.models import PipelineSpec

#: Per sample: (extension, rate, seconds); OGG's Vorbis counts its frames exactly too.
SAMPLES = [
    ("wav", 16000, 10.0),
    ("flac", 8000, 2.5),
    ("wav", 22050, 1.2),
    ("ogg", 16000, 3.0),
    ("flac", 44100, 0.5),
]
FORMATS = {"wav": ("WAV", "PCM_16"), "flac": ("FLAC", "PCM_16"), "ogg": ("OGG", "VORBIS")}


def audio_layout(column: str = "wav;flac;ogg") -> Layout:
    outputs = [
        {"kind": "audio", "column": column},
        {"kind": "label", "column": "cls"},
        {"kind": "features", "name": "snr", "columns": ["snr"]},
    ]
    spec = {"audio": {"sample_rate": 16000}, "source": {"outputs": outputs}}
    return make_plan(PipelineSpec.model_validate(spec)).layout


def encoded(ext: str, rate: int, seconds: float, seed: int) -> bytes:
    fmt, subtype = FORMATS[ext]
    noise = np.random.default_rng(seed).uniform(-0.5, 0.5, round(rate * seconds))
    buffer = io.BytesIO()
    soundfile.write(buffer, noise.astype(np.float32), rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_audio_shards(
    root: Path, split: int = 3, extra: dict[str, bytes] | None = None
) -> list[str]:
    """Two shards of SAMPLES (the first ``split`` in the first), each with ``.cls`` and ``.snr``
    members; ``extra`` adds members to the last shard."""
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for shard, part in enumerate((SAMPLES[:split], SAMPLES[split:])):
        path = root / f"audio-{shard}.tar"
        with tarfile.open(path, "w") as tar:
            for k, (ext, rate, seconds) in enumerate(part):
                number = shard * split + k
                key = f"utt{number:03d}"
                add(tar, f"{key}.{ext}", encoded(ext, rate, seconds, number))
                add(tar, f"{key}.cls", ("yes", "no")[number % 2].encode())
                add(tar, f"{key}.snr", f"{number * 2.5}".encode())
            for name, data in (extra or {}).items() if shard == 1 else ():
                add(tar, name, data)
        paths.append(str(path))
    return paths


def member(path: str, name: str) -> bytes:
    with tarfile.open(path) as tar:
        handle = tar.extractfile(name)
        assert handle is not None
        return handle.read()


def count_preads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the member reads of webdataset_audio from now on."""
    sizes: list[int] = []
    real = os.pread

    def counted(fd: int, size: int, offset: int) -> bytes:
        data = real(fd, size, offset)
        sizes.append(len(data))
        return data

    monkeypatch.setattr(webdataset_audio.os, "pread", counted)
    return sizes


def test_members_labels_features_and_durations(tmp_path: Path) -> None:
    paths = write_audio_shards(tmp_path)
    ds = WebDataset(paths)
    bound = ds.bind(audio_layout())
    for index, (ext, rate, seconds) in enumerate(SAMPLES):
        shard = 0 if index < 3 else 1
        data = bound.images[0](index)
        assert data.tobytes() == member(paths[shard], f"utt{index:03d}.{ext}")
        header = probe_audio(data)
        assert (header.sample_rate, header.frames) == (rate, round(rate * seconds))
        assert bound.path(index).endswith(f"audio-{shard}.tar:utt{index:03d}.{ext}")
    assert [bound.labels[0](i) for i in range(5)] == [1, 0, 1, 0, 1]  # sorted: no, yes
    assert [float(bound.features[0](i)[0]) for i in range(5)] == [0.0, 2.5, 5.0, 7.5, 10.0]
    durations = ds.durations()
    assert durations.dtype == np.float64
    assert durations.tolist() == [seconds for _, _, seconds in SAMPLES]
    ds.close()


def test_wav_durations_read_only_the_header(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_audio_shards(tmp_path)
    ds = WebDataset(paths[0])  # two WAVs (10 s: 320 KB) and a FLAC
    ds.bind(audio_layout())
    sizes = count_preads(monkeypatch)
    assert ds.durations().tolist() == [10.0, 2.5, 1.2]
    wav_bytes = len(member(paths[0], "utt000.wav"))
    # Whole members would be > 320 KB; headers: a few hundred bytes, FLAC's metadata ~8 KB.
    assert 0 < sum(sizes) < 16 * 1024 < wav_bytes
    ds.close()


def test_durations_are_cached_next_to_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    paths = write_audio_shards(tmp_path)
    ds = WebDataset(paths)
    ds.bind(audio_layout())
    first = ds.durations()
    cache = json.loads(Path(f"{paths[1]}.dur.json").read_text())
    assert cache["columns"]["wav;flac;ogg"] == [3.0, 0.5]
    assert cache["size"] == os.stat(paths[1]).st_size
    again = WebDataset(paths)
    again.bind(audio_layout())
    sizes = count_preads(monkeypatch)
    assert again.durations().tolist() == first.tolist() and sizes == []  # from the cache
    # A cache that still matches is trusted as is; a rewritten shard is read again.
    cache["columns"]["wav;flac;ogg"] = [1.0, 1.0]
    Path(f"{paths[1]}.dur.json").write_text(json.dumps(cache))
    again = WebDataset(paths)
    again.bind(audio_layout())
    assert again.durations().tolist()[3:] == [1.0, 1.0]
    write_audio_shards(tmp_path, split=4)  # shard 1 now holds one sample
    again = WebDataset(paths)
    again.bind(audio_layout())
    assert again.durations().tolist() == first.tolist() and sizes != []
    ds.close()
    again.close()


def test_cache_in_index_dir_and_broken_caches(tmp_path: Path) -> None:
    paths = write_audio_shards(tmp_path / "shards")
    ds = WebDataset(paths, index_dir=tmp_path / "index")
    ds.bind(audio_layout())
    assert ds.durations()[0] == 10.0
    assert len(list((tmp_path / "index").glob("audio-0.tar.*.dur.json"))) == 1
    assert not Path(f"{paths[0]}.dur.json").exists()
    ds.close()
    for broken in ("{not json", json.dumps({"version": 1}), json.dumps([1, 2])):
        Path(f"{paths[0]}.dur.json").write_text(broken)
        ds = WebDataset(paths)
        ds.bind(audio_layout())
        assert ds.durations().tolist()[:3] == [10.0, 2.5, 1.2]
        ds.close()


def test_a_read_only_folder_computes_without_a_cache(tmp_path: Path) -> None:
    paths = write_audio_shards(tmp_path)
    Path(f"{paths[0]}.dur.json").mkdir()  # the cache path taken: nothing can be written there
    ds = WebDataset(paths)
    ds.bind(audio_layout())
    assert ds.durations().tolist()[:3] == [10.0, 2.5, 1.2]
    ds.close()


@pytest.mark.parametrize("column", ["jpg", "wav;jpg", "cls"])
def test_the_audio_column_must_name_audio_members(tmp_path: Path, column: str) -> None:
    ds = WebDataset(write_audio_shards(tmp_path))
    bad = column.split(";")[-1]
    with pytest.raises(
        DatasetError,
        match=rf"expected the audio column '{column}' to name audio extensions \(wav, flac, "
        rf"ogg\), got '{bad}'",
    ):
        ds.bind(audio_layout(column))
    ds.close()


def test_a_sample_without_its_audio_member(tmp_path: Path) -> None:
    ds = WebDataset(write_audio_shards(tmp_path))
    with pytest.raises(DatasetError, match=r"audio-0\.tar sample 'utt001', column 'wav': "):
        ds.bind(audio_layout("wav"))
    ds.close()


def test_members_that_are_not_audio(tmp_path: Path) -> None:
    extra = {"utt009.wav": b"RIFF, but nothing else", "utt009.cls": b"no", "utt009.snr": b"1"}
    ds = WebDataset(write_audio_shards(tmp_path, extra=extra))
    bound = ds.bind(audio_layout())
    assert ds.durations().tolist()[5] == 0.0  # counted 0 s; the read reports the member
    with pytest.raises(AudioHeaderError, match="not readable audio"):
        probe_audio(bound.images[0](5))  # the loader's guard: a bad sample naming the member
    assert bound.path(5).endswith("audio-1.tar:utt009.wav")
    ds.close()


def test_members_over_max_file_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    paths = write_audio_shards(tmp_path)
    ds = WebDataset(paths[0], max_file_bytes=100_000)  # the 10 s WAV (320 KB) is over
    bound = ds.bind(audio_layout())
    sizes = count_preads(monkeypatch)
    assert ds.durations().tolist() == [0.0, 2.5, 1.2]
    assert sum(sizes) < 16 * 1024
    with pytest.raises(FileRefusedError, match=r"utt000\.wav: file larger than max_file_bytes"):
        bound.images[0](0)
    ds.close()


def test_durations_need_an_audio_binding(tmp_path: Path) -> None:
    ds = WebDataset(write_audio_shards(tmp_path))
    with pytest.raises(DatasetError, match=r"WebDataset\.durations: expected it bound to an audio"):
        ds.durations()
    ds.close()


def test_member_view_seeks_within_its_member(tmp_path: Path) -> None:
    path = tmp_path / "blob"
    path.write_bytes(b"0123456789abcdef")
    fd = os.open(path, os.O_RDONLY)
    try:
        view = webdataset_audio.MemberView(fd, 4, 8)  # "456789ab"
        assert view.read(3) == b"456" and view.tell() == 3
        assert view.seek(-2, io.SEEK_END) == 6 and view.read(10) == b"ab"
        assert view.read(1) == b""  # never past the member's end
        view.seek(1)
        assert view.read() == b"56789ab"
        assert view.bytes_read == 12
        # Not audio: no duration (the read reports the member).
        assert webdataset_audio.member_seconds(webdataset_audio.MemberView(fd, 0, 16)) == 0.0
    finally:
        os.close(fd)
