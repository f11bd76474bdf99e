"""Manifest audio columns: whole files or offset/duration segments, read by seeking; durations."""

from __future__ import annotations

import csv
import io
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile

from dali_pipelines.data import manifest_audio
from dali_pipelines.data.audio_probe import AudioHeaderError, probe_audio
from dali_pipelines.data.manifest import Manifest
from dali_pipelines.errors import DatasetError, FileRefusedError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.layout import Layout
from dali_pipelines.spec.models import PipelineSpec

#: name -> (rate, seconds, format): rates differ so that a segment's frames depend on the header.
FILES = {
    "a.wav": (16000, 3.0, "WAV"),
    "b.flac": (8000, 2.5, "FLAC"),
    "c.wav": (22050, 1.2, "WAV"),
}


def audio_layout(**audio: Any) -> Layout:
    outputs = [
        {"kind": "audio", "column": "path", **audio},
        {"kind": "label"},
        {"kind": "features", "name": "speaker", "columns": ["age"]},
    ]
    spec = {"audio": {"sample_rate": 16000}, "source": {"outputs": outputs}}
    return make_plan(PipelineSpec.model_validate(spec)).layout


WHOLE = audio_layout()
SEGMENTS = audio_layout(offset="offset", duration="duration")


def signal(rate: int, seconds: float, seed: int) -> np.ndarray:
    """Noise quantised to int16 (what a PCM_16 file holds exactly), as float32."""
    rng = np.random.default_rng(seed)
    frames = round(rate * seconds)
    return (rng.integers(-20000, 20000, frames) / 32768).astype(np.float32)


@pytest.fixture
def audio_dir(tmp_path: Path) -> Path:
    (tmp_path / "wav").mkdir()
    for seed, (name, (rate, seconds, fmt)) in enumerate(FILES.items()):
        path = tmp_path / "wav" / name
        soundfile.write(path, signal(rate, seconds, seed), rate, format=fmt, subtype="PCM_16")
    return tmp_path


def write_rows(root: Path, rows: list[dict[str, Any]], fmt: str = "csv") -> Path:
    path = root / f"manifest.{fmt}"
    if fmt == "csv":
        with open(path, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    else:
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def row(
    name: str, offset: float = 0.0, duration: float = 1.0, label: str = "yes"
) -> dict[str, Any]:
    return {
        "path": f"wav/{name}",
        "offset": offset,
        "duration": duration,
        "label": label,
        "age": 30,
    }


def decoded(data: np.ndarray) -> tuple[np.ndarray, int]:
    samples, rate = soundfile.read(io.BytesIO(data.tobytes()), dtype="float32")
    return samples, rate


def expected(root: Path, name: str, start: int, stop: int | None) -> np.ndarray:
    samples, _ = soundfile.read(root / "wav" / name, dtype="float32")
    return samples[start:stop]


def count_headers(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The files whose header is read from now on (manifest_audio's audio_header, counted)."""
    calls: list[str] = []
    real = manifest_audio.audio_header

    def counted(path: str, follow_symlinks: bool = True) -> Any:
        calls.append(os.path.basename(path))
        return real(path, follow_symlinks)

    monkeypatch.setattr(manifest_audio, "audio_header", counted)
    return calls


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_whole_files_labels_features_and_durations(
    audio_dir: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    rows = [row("a.wav", label="yes"), row("b.flac", label="no"), row("c.wav", label="yes")]
    rows[1]["age"] = 41.5
    manifest = Manifest(write_rows(audio_dir, [*rows, row("a.wav", label="no")], fmt))
    headers = count_headers(monkeypatch)
    bound = manifest.bind(WHOLE)
    assert headers == []  # binding opens no audio file
    for index, name in enumerate(["a.wav", "b.flac", "c.wav"]):
        assert bound.images[0](index).tobytes() == (audio_dir / "wav" / name).read_bytes()
        assert bound.path(index) == os.path.realpath(audio_dir / "wav" / name)
    assert [bound.labels[0](i) for i in range(4)] == [1, 0, 1, 0]  # sorted names: no, yes
    assert bound.num_classes == 2
    assert [float(bound.features[0](i)[0]) for i in range(4)] == [30.0, 41.5, 30.0, 30.0]
    durations = manifest.durations()
    assert durations.dtype == np.float64
    assert durations.tolist() == [3.0, 2.5, 1.2, 3.0]  # frames / rate, exact
    assert sorted(headers) == ["a.wav", "b.flac", "c.wav"]  # once per file, a.wav twice listed
    assert manifest.durations().tolist() == durations.tolist() and len(headers) == 3


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_segments_hold_exactly_their_frames(
    audio_dir: Path, fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    segments = [
        ("a.wav", 0.5, 1.25),
        ("b.flac", 1.0, 0.75),
        ("c.wav", 0.1, 1.0),
        ("a.wav", 2.0, 1.0),
    ]
    manifest = Manifest(write_rows(audio_dir, [row(n, o, d) for n, o, d in segments], fmt))
    headers = count_headers(monkeypatch)
    bound = manifest.bind(SEGMENTS)
    assert headers == [] and manifest.durations().tolist() == [1.25, 0.75, 1.0, 1.0]
    assert headers == []  # the duration column: no header read
    for index, (name, offset, duration) in enumerate(segments):
        rate = FILES[name][0]
        start, stop = round(offset * rate), round((offset + duration) * rate)
        samples, got_rate = decoded(bound.images[0](index))
        assert got_rate == rate  # the file's own rate: the decoder resamples later
        assert np.array_equal(samples, expected(audio_dir, name, start, stop))
        assert probe_audio(bound.images[0](index)).frames == stop - start
        real = os.path.realpath(audio_dir / "wav" / name)
        assert bound.path(index) == f"{real}@{offset:g}s"
    assert headers.count("a.wav") == 1  # one header per file, whatever its segments


def test_back_to_back_segments_tile_the_file(audio_dir: Path) -> None:
    # 1/3 s at 16 kHz is 5333.3 frames: rounding each end (not the duration) leaves no seam.
    third = 1 / 3
    rows = [row("a.wav", k * third, third) for k in range(3)]
    bound = Manifest(write_rows(audio_dir, rows, "jsonl")).bind(SEGMENTS)
    pieces = [decoded(bound.images[0](k))[0] for k in range(3)]
    assert [len(p) for p in pieces] == [5333, 5334, 5333]
    assert np.array_equal(np.concatenate(pieces), expected(audio_dir, "a.wav", 0, 16000))


def test_offset_only_runs_to_the_end_and_duration_only_starts_at_zero(audio_dir: Path) -> None:
    rows = [row("a.wav", 2.25, 9.0), row("b.flac", 0.5, 0.5)]
    manifest = Manifest(write_rows(audio_dir, rows))
    bound = manifest.bind(audio_layout(offset="offset"))
    assert np.array_equal(decoded(bound.images[0](0))[0], expected(audio_dir, "a.wav", 36000, None))
    assert manifest.durations().tolist() == [0.75, 2.0]  # the header's seconds minus the offset
    bound = manifest.bind(audio_layout(duration="duration"))
    assert np.array_equal(decoded(bound.images[0](1))[0], expected(audio_dir, "b.flac", 0, 4000))
    assert bound.path(1).endswith("b.flac@0s")


def test_a_segment_within_the_slack_is_cut_at_the_end(audio_dir: Path) -> None:
    # c.wav holds 1.2 s; 0.25 + 0.96 ends 10 ms late (a duration rounded to 2 decimals).
    bound = Manifest(write_rows(audio_dir, [row("c.wav", 0.25, 0.96)])).bind(SEGMENTS)
    samples, _ = decoded(bound.images[0](0))
    assert np.array_equal(samples, expected(audio_dir, "c.wav", round(0.25 * 22050), None))


@pytest.mark.parametrize(
    ("offset", "duration", "message"),
    [
        (1.2, 0.5, r"manifest\.csv row 2: offset: expected < the file's 1\.2 s, got 1\.2 s"),
        (
            0.7,
            0.55,
            r"manifest\.csv row 2: offset \+ duration: expected <= the file's 1\.2 s "
            r"\(\+0\.02 s\), got 1\.25 s",
        ),
        (0.0, 1e-6, r"manifest\.csv row 2: duration: expected at least one frame at 22050 Hz"),
    ],
)
def test_segments_outside_the_file_are_bad_samples(
    audio_dir: Path, offset: float, duration: float, message: str
) -> None:
    manifest = Manifest(write_rows(audio_dir, [row("a.wav"), row("c.wav", offset, duration)]))
    bound = manifest.bind(SEGMENTS)
    assert len(decoded(bound.images[0](0))[0]) == 16000
    with pytest.raises(FileRefusedError, match=message) as caught:
        bound.images[0](1)
    # An OSError naming the file and the segment: the loader's guard makes it a bad sample.
    assert isinstance(caught.value, OSError)
    assert caught.value.path == f"{os.path.realpath(audio_dir / 'wav' / 'c.wav')}@{offset:g}s"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("offset", "-0.5", r"row 2, column 'offset': expected seconds >= 0, got '-0\.5'"),
        ("offset", "soon", r"row 2, column 'offset': expected a number, got 'soon'"),
        ("duration", "0", r"row 2, column 'duration': expected seconds > 0, got '0'"),
        ("duration", "-1", r"row 2, column 'duration': expected seconds > 0, got '-1'"),
        ("duration", "inf", r"row 2, column 'duration': expected a finite number, got 'inf'"),
        ("duration", "", r"row 2, column 'duration': expected a value, got an empty cell"),
        ("path", "wav/missing.wav", r"row 2, column 'path': expected an existing file"),
        ("path", "../a.wav", r"row 2, column 'path': expected a path inside the manifest"),
    ],
)
def test_bad_cells_name_the_row_when_bound(
    audio_dir: Path, column: str, value: str, message: str
) -> None:
    rows = [row("a.wav"), row("b.flac")]
    rows[1][column] = value
    with pytest.raises(DatasetError, match=message):
        Manifest(write_rows(audio_dir, rows)).bind(SEGMENTS)


def test_a_missing_segment_column_is_named(audio_dir: Path) -> None:
    rows = [{"path": "wav/a.wav", "label": "yes", "age": 1}]
    with pytest.raises(DatasetError, match=r"expected a column 'offset' \(from the spec's source"):
        Manifest(write_rows(audio_dir, rows)).bind(SEGMENTS)


def test_files_that_are_not_audio(audio_dir: Path) -> None:
    (audio_dir / "wav" / "text.wav").write_bytes(b"not a RIFF file at all")
    manifest = Manifest(write_rows(audio_dir, [row("text.wav"), row("a.wav")]))
    bound = manifest.bind(WHOLE)
    assert manifest.durations().tolist() == [0.0, 3.0]  # counted 0 s; the read reports it
    with pytest.raises(AudioHeaderError, match="not readable audio"):
        probe_audio(bound.images[0](0))  # the bytes as they are: the loader's guard refuses them
    bound = manifest.bind(SEGMENTS)
    with pytest.raises(FileRefusedError, match=r"text\.wav: not readable audio"):
        bound.images[0](0)


def test_a_file_removed_after_binding(audio_dir: Path) -> None:
    manifest = Manifest(write_rows(audio_dir, [row("a.wav"), row("c.wav")]))
    bound = manifest.bind(audio_layout(offset="offset"))
    (audio_dir / "wav" / "c.wav").unlink()
    with pytest.raises(FileNotFoundError):
        bound.images[0](1)
    assert manifest.durations().tolist() == [3.0, 0.0]


def test_a_whole_file_swapped_for_a_link_is_refused(audio_dir: Path) -> None:
    bound = Manifest(write_rows(audio_dir, [row("a.wav"), row("c.wav")])).bind(WHOLE)
    target = audio_dir / "wav" / "a.wav"
    target.unlink()
    target.symlink_to(audio_dir / "wav" / "c.wav")
    with pytest.raises(OSError):
        bound.images[0](0)


def test_a_segment_file_swapped_for_a_link_is_refused(audio_dir: Path) -> None:
    # Segments are read by seeking, not read_regular: the same O_NOFOLLOW guard applies.
    bound = Manifest(write_rows(audio_dir, [row("a.wav", 0.5, 1.0)])).bind(SEGMENTS)
    target = audio_dir / "wav" / "a.wav"
    target.unlink()
    target.symlink_to(audio_dir / "wav" / "c.wav")
    with pytest.raises(OSError):
        bound.images[0](0)


def test_durations_need_an_audio_binding(audio_dir: Path) -> None:
    manifest = Manifest(write_rows(audio_dir, [row("a.wav")]))
    with pytest.raises(DatasetError, match=r"bound to an audio spec's source, got an unbound"):
        manifest.durations()
    manifest.bind(WHOLE)
    assert manifest.durations().tolist() == [3.0]
    spec = {
        "ops": [{"op": "resize", "size": [8, 8]}],
        "source": {"outputs": [{"kind": "image", "name": "path"}]},
    }
    manifest.bind(make_plan(PipelineSpec.model_validate(spec)).layout)
    with pytest.raises(DatasetError, match=r"got an image spec"):
        manifest.durations()
