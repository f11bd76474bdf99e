"""AudioFolder: torchvision's folder indexing, durations from cached headers, windows."""

from __future__ import annotations

import io
import logging
import os
import pickle
import subprocess
import sys
import tracemalloc
from pathlib import Path
from unittest.mock import ANY

import numpy as np
import pytest
import soundfile
import torch
from torchvision.datasets import DatasetFolder

import dali_pipelines
from dali_pipelines import AudioFolder, DataLoader
from dali_pipelines.data import audio_headers
from dali_pipelines.data.audio_folder import window_count
from dali_pipelines.data.audio_headers import CACHE_NAME, BadHeader
from dali_pipelines.data.audio_probe import AUDIO_EXTENSIONS, AudioHeaderError, probe_audio
from dali_pipelines.errors import (
    DatasetError,
    FileRefusedError,
    MissingFilesError,
    SampleDecodeError,
)
from dali_pipelines.spec.models import PipelineSpec

#: (class, name, seconds, rate, channels): lengths chosen against 1 s windows (3.5 s: a partial).
FILES = [
    ("cat", "a.wav", 3.5, 8000, 1),
    ("cat", "b.flac", 1.0, 16000, 2),
    ("dog", "c.ogg", 0.2, 22050, 1),
    ("dog", "d.WAV", 2.0, 8000, 1),
]


def write_audio(path: Path, seconds: float, rate: int, channels: int, seed: int = 0) -> np.ndarray:
    """Noise quantised to 16 bits (what PCM_16 and FLAC keep exactly), written to ``path``."""
    frames = round(seconds * rate)
    ints = np.random.default_rng(seed).integers(-20000, 20000, size=(frames, channels))
    ints = ints.astype(np.int16)
    subtype = "VORBIS" if path.suffix.lower() == ".ogg" else "PCM_16"
    soundfile.write(path, ints, rate, subtype=subtype)
    return ints.astype(np.float32) / 32768


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    root = tmp_path / "audio"
    for i, (label, name, seconds, rate, channels) in enumerate(FILES):
        (root / label).mkdir(parents=True, exist_ok=True)
        write_audio(root / label / name, seconds, rate, channels, seed=i)
    (root / "dog" / "notes.txt").write_text("not a sample")
    return root


def decode(data: np.ndarray) -> np.ndarray:
    return soundfile.read(io.BytesIO(data.tobytes()), dtype="float32", always_2d=True)[0]


def test_indexed_like_torchvision(folder: Path) -> None:
    ours = AudioFolder(folder)
    theirs = DatasetFolder(str(folder), loader=lambda p: p, extensions=AUDIO_EXTENSIONS)
    assert ours.samples == theirs.samples and ours.targets == theirs.targets
    assert ours.classes == ["cat", "dog"] and ours.class_to_idx == theirs.class_to_idx
    assert len(ours) == 4 and [ours.label(i) for i in range(4)] == [0, 0, 1, 1]
    assert dali_pipelines.AudioFolder is AudioFolder


def test_durations_from_headers_without_decoding(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_decoding(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded while indexing")

    monkeypatch.setattr(soundfile.SoundFile, "read", no_decoding)
    monkeypatch.setattr(soundfile, "read", no_decoding)
    ds = AudioFolder(folder)
    durations = ds.durations()
    assert durations.dtype == np.float64
    np.testing.assert_allclose(durations, [3.5, 1.0, 0.2, 2.0], rtol=0, atol=1e-9)
    assert [h.channels for h in ds.headers if not isinstance(h, BadHeader)] == [1, 2, 1, 1]


def test_whole_files_read_as_their_bytes(folder: Path) -> None:
    ds = AudioFolder(folder)
    assert ds.read_bytes(1).tobytes() == (folder / "cat" / "b.flac").read_bytes()
    assert ds.path(1) == str(folder / "cat" / "b.flac")
    wave, rate, label = ds[1]
    assert wave.shape == (2, 16000) and rate == 16000 and label == 0
    with pytest.raises(FileRefusedError, match="larger than max_file_bytes=100"):
        AudioFolder(folder, max_file_bytes=100).read_bytes(0)


@pytest.mark.parametrize(
    ("frames", "window", "hop", "last", "expected"),
    [
        (10, 4, 4, "pad", (3, 4)),  # 0-4, 4-8, 8-10 padded
        (10, 4, 4, "keep", (3, 2)),
        (10, 4, 4, "drop", (2, 4)),
        (8, 4, 4, "pad", (2, 4)),  # exact: no partial window
        (3, 4, 4, "pad", (1, 4)),  # shorter than a window
        (3, 4, 4, "drop", (0, 4)),
        (10, 4, 2, "keep", (4, 4)),  # overlap: 0, 2, 4, 6 full, the last ends at 10
        (11, 4, 2, "keep", (5, 3)),  # ... and 8-11 partial
        (10, 2, 5, "pad", (2, 2)),  # gaps: 0-2, 5-7; nothing starts before 10 after that
        (11, 2, 5, "keep", (3, 1)),  # 0-2, 5-7, 10-11
    ],
)
def test_window_count(
    frames: int, window: int, hop: int, last: str, expected: tuple[int, int]
) -> None:
    assert window_count(frames, window, hop, last) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("last", ["pad", "keep", "drop"])
def test_windows_cover_each_file_once(folder: Path, last: str) -> None:
    ds = AudioFolder(folder, window_seconds=1.0, last=last)  # type: ignore[arg-type]
    # a.wav 3.5 s: 3 full + a partial; b 1 s: 1; c.ogg 0.2 s: a partial; d 2 s: 2.
    partial = last != "drop"
    assert len(ds) == 3 + partial + 1 + partial + 2
    expected = {"pad": [1.0] * 8, "keep": [1, 1, 1, 0.5, 1, 0.2, 1, 1], "drop": [1.0] * 6}
    np.testing.assert_allclose(ds.durations(), expected[last], rtol=0, atol=1e-9)
    references = [soundfile.read(p, dtype="float32", always_2d=True)[0] for p, _ in ds.samples]
    seen = []
    for index in range(len(ds)):
        file, start, frames = ds.window(index)
        seen.append((file, start))
        rate = soundfile.info(ds.samples[file][0]).samplerate
        got = decode(ds.read_bytes(index))
        want = references[file][start : start + rate]
        assert len(got) == (rate if last == "pad" else len(want)) == max(frames, len(want))
        np.testing.assert_array_equal(got[: len(want)], want)
        assert not got[len(want) :].any()
        assert ds.label(index) == ds.targets[file]
    assert len(set(seen)) == len(ds)  # no window twice
    assert ds.path(2) == f"{folder / 'cat' / 'a.wav'}@2s"


def test_hop_and_window_paths(folder: Path) -> None:
    ds = AudioFolder(folder, window_seconds=1.0, hop_seconds=0.5, last="drop")
    copy = pickle.loads(pickle.dumps(ds))  # what a loader's worker process receives
    assert [copy.path(i) for i in range(len(ds))] == [ds.path(i) for i in range(len(ds))]
    assert copy.read_bytes(3).tobytes() == ds.read_bytes(3).tobytes()
    # a.wav: starts 0, 0.5, ..., 2.5 (6); b: 1; c: none; d: 0, 0.5, 1.0 (3).
    assert len(ds) == 10
    assert [ds.path(i).rsplit("@", 1)[1] for i in range(6)] == [
        "0s",
        "0.5s",
        "1s",
        "1.5s",
        "2s",
        "2.5s",
    ]


@pytest.mark.parametrize(
    ("kwargs", "words"),
    [
        ({"window_seconds": 0}, "AudioFolder.window_seconds: expected a number of seconds > 0"),
        ({"window_seconds": float("nan")}, "AudioFolder.window_seconds: expected a number"),
        ({"hop_seconds": 1.0}, "AudioFolder.hop_seconds: expected window_seconds with it"),
        ({"window_seconds": 1.0, "last": "trim"}, "AudioFolder.last: expected one of"),
        ({"window_seconds": 60.0, "last": "drop"}, "expected at least one window"),
        ({"max_file_bytes": 0}, "AudioFolder.max_file_bytes: expected None or an int >= 1"),
    ],
)
def test_bad_options(folder: Path, kwargs: dict[str, object], words: str) -> None:
    with pytest.raises(DatasetError, match=words):
        AudioFolder(folder, **kwargs)  # type: ignore[arg-type]


def test_folder_errors_like_imagefolder(tmp_path: Path) -> None:
    with pytest.raises(MissingFilesError, match=r"AudioFolder\.root: expected a directory"):
        AudioFolder(tmp_path / "missing")
    (tmp_path / "empty_class").mkdir()
    with pytest.raises(MissingFilesError, match=r"expected files ending in \.wav, \.flac, \.ogg"):
        AudioFolder(tmp_path)


def test_bad_files_stay_and_fail_when_read(folder: Path) -> None:
    (folder / "cat" / "text.wav").write_text("hello, not audio")
    (folder / "cat" / "zero.wav").write_bytes(b"")
    ds = AudioFolder(folder)
    bad = ds.bad_headers()
    assert sorted(Path(p).name for p in bad) == ["text.wav", "zero.wav"]
    assert bad[str(folder / "cat" / "zero.wav")].code == "empty"
    index = [p for p, _ in ds.samples].index(str(folder / "cat" / "text.wav"))
    assert ds.durations()[index] == 0.0
    with pytest.raises(AudioHeaderError, match="not readable audio"):
        probe_audio(ds.read_bytes(index))  # what the loader's audio guard does with the bytes
    windows = AudioFolder(folder, window_seconds=1.0)
    index = next(i for i in range(len(windows)) if windows.path(i).endswith("text.wav"))
    assert windows.window(index)[1:] == (0, 0) and windows.durations()[index] == 0.0
    with pytest.raises(FileRefusedError, match=r"text\.wav: not readable audio") as info:
        windows.read_bytes(index)
    assert isinstance(info.value, OSError)  # the loader's guard: a bad sample, skip or raise


def test_a_fifo_is_indexed_without_blocking(folder: Path) -> None:
    os.mkfifo(folder / "dog" / "pipe.wav")
    ds = AudioFolder(folder, window_seconds=1.0)
    assert ds.bad_headers()[str(folder / "dog" / "pipe.wav")].code == "not_regular_file"


def count_probes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    probed: list[str] = []
    original = audio_headers.probe_file

    def counting(path: str) -> audio_headers.Header:
        probed.append(Path(path).name)
        return original(path)

    monkeypatch.setattr(audio_headers, "probe_file", counting)
    return probed


def test_header_cache_reused_and_updated(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    probed = count_probes(monkeypatch)
    first = AudioFolder(folder)
    assert (folder / CACHE_NAME).is_file() and len(probed) == 4
    probed.clear()
    again = AudioFolder(folder)
    assert probed == [] and again.headers == first.headers
    write_audio(folder / "dog" / "d.WAV", 3.0, 8000, 1)  # rewritten: size and mtime change
    os.utime(folder / "cat" / "b.flac", ns=(1, 1))  # only touched
    changed = AudioFolder(folder)
    assert sorted(probed) == ["b.flac", "d.WAV"]
    assert changed.durations()[3] == 3.0 and changed.fingerprint() != first.fingerprint()


def test_damaged_cache_is_rebuilt(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    AudioFolder(folder)
    cache = folder / CACHE_NAME
    for damage in ("{not json", '{"version": 1, "files": {"cat/a.wav": [1, 2, "x"]}}', "[]"):
        cache.write_text(damage)
        probed = count_probes(monkeypatch)
        ds = AudioFolder(folder)
        assert "a.wav" in probed and ds.durations()[0] == 3.5
        monkeypatch.undo()


def test_cache_elsewhere_none_or_unwritable(
    folder: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    AudioFolder(folder, header_cache=False)
    assert not (folder / CACHE_NAME).exists()
    AudioFolder(folder, header_cache=tmp_path / "caches")
    assert [p.name.endswith(".headers.json") for p in (tmp_path / "caches").iterdir()] == [True]
    # A folder below a plain file cannot be made, even by root (chmod would not stop root).
    (tmp_path / "plain").write_text("a file")
    with caplog.at_level(logging.DEBUG, logger="dali_pipelines.data.audio_headers"):
        ds = AudioFolder(folder, header_cache=tmp_path / "plain" / "caches")
    assert len(ds) == 4 and "not written" in caplog.text
    assert ds.durations()[0] == 3.5


def test_fingerprint_covers_window_options(folder: Path) -> None:
    plain = AudioFolder(folder).fingerprint()
    assert plain == AudioFolder(folder).fingerprint()
    one = AudioFolder(folder, window_seconds=1.0).fingerprint()
    prints = {
        plain,
        one,
        AudioFolder(folder, window_seconds=1.0, last="keep").fingerprint(),
        AudioFolder(folder, window_seconds=1.0, hop_seconds=0.5).fingerprint(),
        AudioFolder(folder, window_seconds=2.0).fingerprint(),
    }
    assert len(prints) == 5


@pytest.mark.integration
@pytest.mark.parametrize("backend", ["reference", "dali"])
def test_windows_through_the_loader_skip_a_bad_file(folder: Path, backend: str) -> None:
    (folder / "dog" / "broken.wav").write_text("text named .wav")
    ds = AudioFolder(folder, window_seconds=1.0, header_cache=False)  # 8 windows + 1
    spec = PipelineSpec.model_validate(
        {
            "audio": {"sample_rate": 8000},
            "source": {"outputs": [{"kind": "audio"}, {"kind": "label"}]},
        }
    )
    with DataLoader(
        ds, spec=spec, batch_size=4, backend=backend, num_workers=0, on_error="skip"
    ) as loader:
        batches = list(loader)
        skipped = loader.skipped
    audio = torch.cat([batch[0] for batch in batches])
    lengths = torch.cat([batch[1] for batch in batches])
    assert audio.shape == (8, 1, 8000) and lengths.tolist() == [8000] * 8  # padded windows
    assert skipped == {0: [(str(folder / "dog" / "broken.wav"), ANY)]}
    assert "not readable audio" in skipped[0][0][1]
    strict = DataLoader(ds, spec=spec, batch_size=4, backend=backend, num_workers=0)
    with strict, pytest.raises(SampleDecodeError, match=r"broken\.wav\): not readable audio"):
        list(strict)


# -- a long recording in windows ------------------------------------------------------------------

LONG_RATE, LONG_SECONDS, WINDOW = 16000, 600, 2.0
#: What reading the 2 s windows of the 10-minute file may allocate at its peak (Python and
#: numpy, tracemalloc; measured 385 KB): a window is 128 KB of float32 and its WAV as much;
#: decoding the whole file would take 37 MB of float32.
LONG_PEAK_BYTES = 2 << 20
#: The growth of the process's peak RSS while reading every window, in a fresh process after
#: its imports (~56 MB): measured 0 bytes here (the windows stay below the imports' peak);
#: decoding the whole file instead grows it by 37.6 MB.
LONG_RSS_BYTES = 12 << 20


@pytest.fixture(scope="module")
def ten_minutes(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, np.ndarray]:
    """A 10-minute, 16 kHz mono PCM_16 WAV (19.2 MB) of noise, and its samples."""
    root = tmp_path_factory.mktemp("long") / "recordings"
    (root / "speech").mkdir(parents=True)
    ints = np.random.default_rng(5).integers(-32768, 32768, LONG_RATE * LONG_SECONDS, np.int16)
    soundfile.write(root / "speech" / "ten_minutes.wav", ints, LONG_RATE, subtype="PCM_16")
    return root, ints


def test_ten_minutes_in_two_second_windows(ten_minutes: tuple[Path, np.ndarray]) -> None:
    root, ints = ten_minutes
    ds = AudioFolder(root, window_seconds=WINDOW, header_cache=False)
    assert len(ds) == LONG_SECONDS / WINDOW and set(ds.durations()) == {WINDOW}
    window = round(WINDOW * LONG_RATE)
    starts = []
    tracemalloc.start()
    try:
        for index in range(len(ds)):
            _, start, frames = ds.window(index)
            got = decode(ds.read_bytes(index))[:, 0]
            expected = ints[start : start + window].astype(np.float32) / 32768
            assert frames == window and np.array_equal(got, expected), index
            starts.append(start)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert starts == list(range(0, LONG_RATE * LONG_SECONDS, window))  # each window once
    assert peak < LONG_PEAK_BYTES, f"peak {peak} bytes while reading windows"


_RSS_SCRIPT = """
import resource, sys
from dali_pipelines.data.audio_folder import AudioFolder
ds = AudioFolder(sys.argv[1], window_seconds=2.0, header_cache=False)
ds.read_bytes(0)  # first use: soundfile's cffi and libsndfile loaded
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
for index in range(len(ds)):
    ds.read_bytes(index)
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print((after - before) * 1024)
"""


def test_ten_minutes_peak_rss(ten_minutes: tuple[Path, np.ndarray]) -> None:
    script = _RSS_SCRIPT
    out = subprocess.run(
        [sys.executable, "-c", script, str(ten_minutes[0])],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    growth = int(out.stdout.split()[-1])
    assert growth < LONG_RSS_BYTES, f"peak RSS grew {growth} bytes while reading windows"
