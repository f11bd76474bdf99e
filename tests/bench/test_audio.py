"""The bench on audio: an AudioFolder read by an audio spec, DALI vs the reference loader, audio
seconds/s and padding from the batches' lengths, image-only loaders left out or refused, and the
report, markdown and plot of an audio run. Real loaders run on 12 short clips (seconds)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import torch

from dali_pipelines import AudioFolder
from dali_pipelines.bench import BenchConfig, BenchReport, read_report, run_bench, write_report
from dali_pipelines.bench.audio import LengthsRecorder, audio_info, audio_result
from dali_pipelines.bench.loaders import select_loaders
from dali_pipelines.bench.markdown import render_markdown
from dali_pipelines.bench.runner import Subject, run_interleaved
from dali_pipelines.bench.summary import rows
from dali_pipelines.cli.main import main
from dali_pipelines.spec import load_spec

CLIPS = 12
# One rep, no warm-up, batch 4, one thread, on the CPU: DALI and torch DataLoaders on 12 clips.
FAST = ["--batch-size", "4", "--threads", "1", "--reps", "1", "--warmup", "0", "--device", "cpu"]


@pytest.fixture(scope="module")
def audio_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 classes x 6 clips, 0.2-2 s (log-spread, so random batches pad a lot), at 8, 16 and
    22.05 kHz, a third stereo, WAV and FLAC."""
    root = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(0)
    for i in range(CLIPS):
        rate = (8000, 16000, 22050)[i % 3]
        seconds = float(np.exp(rng.uniform(np.log(0.2), np.log(2.0))))
        t = np.arange(int(rate * seconds)) / rate
        wave = 0.4 * np.sin(2 * np.pi * rng.uniform(200, 900) * t)
        samples = np.stack([wave, 0.5 * wave], 1) if i % 3 == 0 else wave[:, None]
        folder = root / ("beep" if i % 2 else "hum")
        folder.mkdir(exist_ok=True)
        ext = "flac" if i % 4 == 0 else "wav"
        soundfile.write(folder / f"{i:02d}.{ext}", samples.astype(np.float32), rate)
    return root


def audio_config(**overrides: Any) -> BenchConfig:
    base: dict[str, Any] = dict(
        spec="speech_fbank80", batch_size=4, threads=1, reps=2, warmup=0, device="cpu"
    )
    return BenchConfig.model_validate(base | overrides)


@pytest.fixture(scope="module")
def audio_report(audio_folder: Path) -> BenchReport:
    return run_bench(audio_folder, audio_config(bucketing=True), command="dali-pipelines bench")


@pytest.mark.integration
def test_the_audio_report(audio_report: BenchReport, audio_folder: Path) -> None:
    report = audio_report
    assert report.modality == "audio" and report.spec_name == "speech_fbank80"
    assert report.spec_fingerprint == load_spec("speech_fbank80").fingerprint
    assert list(report.loaders) == ["dali", "reference", "dali-bucketed", "reference-bucketed"]
    assert report.notes[0] == "reference-tvio, torchvision skipped: they read no audio"
    assert report.notes[1].startswith("lead-in: each timed epoch ran right after an untimed one")
    assert report.config.lead_in == "auto"  # on for audio: see test_a_lead_in_per_timed_epoch
    assert report.audio is not None and report.audio.length_unit == "frames"
    assert (report.audio.hop, report.audio.unit_seconds) == (160, pytest.approx(0.01))
    dataset = report.env.dataset
    assert dataset.images == CLIPS and dataset.classes == 2 and dataset.audio is not None
    assert dataset.audio.sample_rates == {"8000": 4, "16000": 4, "22050": 4}
    assert dataset.audio.channels == {"1": 8, "2": 4} and dataset.audio.formats["FLAC"] == 3
    seconds = float(AudioFolder(audio_folder).durations().sum())
    assert dataset.audio.seconds == pytest.approx(seconds)
    for result in report.loaders.values():
        assert result.images_per_epoch == CLIPS and result.audio is not None
        # frames x 10 ms: within one hop (plus resampling rounding) of each clip's duration.
        assert abs(result.audio.seconds_per_epoch - seconds) <= CLIPS * 0.011
        rate = result.audio.seconds_per_epoch / np.array(result.epoch_s)
        assert result.audio.seconds_per_s_reps == pytest.approx(list(rate))
        q1, q3 = result.audio.seconds_per_s_q1, result.audio.seconds_per_s_q3
        assert q1 <= result.audio.seconds_per_s <= q3
    padding = {name: r.audio.padding_ratio for name, r in report.loaders.items() if r.audio}
    # The same order and lengths on both backends; bucketing packs similar durations together.
    assert padding["dali"] == pytest.approx(padding["reference"])
    assert padding["dali-bucketed"] == pytest.approx(padding["reference-bucketed"])
    assert padding["dali-bucketed"] < padding["dali"]


@pytest.mark.integration
def test_json_markdown_and_plot_of_an_audio_run(audio_report: BenchReport, tmp_path: Path) -> None:
    path = write_report(audio_report, tmp_path / "r.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == 2 and data["modality"] == "audio"
    assert data["spec_fingerprint"] == audio_report.spec_fingerprint
    assert data["config"]["bucketing"] is True and data["audio"]["length_unit"] == "frames"
    for key in ("seconds_per_s", "seconds_per_s_iqr", "seconds_per_epoch", "padding_ratio"):
        assert isinstance(data["dali"]["audio"][key], float)
    assert read_report(path) == audio_report
    text = render_markdown(audio_report)
    assert audio_report.spec_fingerprint in text and "| 12 samples |" in text
    assert "| samples/s |" in text and "| audio s/s | padding |" in text and "img/s" not in text
    assert "- speedup DALI / reference: " in text and "PIL" not in text
    assert "- note: reference-tvio, torchvision skipped" in text
    assert "10 ms a frame" in text
    assert "- padding (padded / real frames over the timed reps): dali " in text
    cells = rows(audio_report)[0]
    assert cells[0] == "dali" and cells[5] == f"{data['dali']['audio']['padding_ratio']:.2f}"
    pytest.importorskip("matplotlib")
    from dali_pipelines.bench.plot import write_plot

    assert write_plot(audio_report, tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


class FakeAudioLoader:
    """Yields (features, lengths, labels) with the given lengths, padded to each batch's longest."""

    def __init__(self, batches: list[list[int]]):
        self.batches = batches

    def __len__(self) -> int:
        return len(self.batches)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        for lengths in self.batches:
            n = len(lengths)
            yield torch.zeros(n, 2, max(lengths)), torch.tensor(lengths), torch.zeros(n)


def test_lengths_become_audio_seconds_and_padding() -> None:
    recorder = LengthsRecorder(FakeAudioLoader([[10, 5], [3, 3], [4]]))
    timings = run_interleaved([Subject("a", recorder)], reps=2, warmup=1, lead_in=True)["a"]
    # warm-up 0, then (lead-in, rep) pairs: 1 and 2, 3 and 4; the reps are matched by number.
    assert sorted(recorder.epochs) == [0, 1, 2, 3, 4] and recorder.epochs[0].units == 25
    assert [t.epoch for t in timings.reps] == [2, 4]
    result = audio_result(recorder, timings.reps, unit_seconds=0.01)
    assert result.seconds_per_epoch == pytest.approx(0.25)
    # padded: (2*10 - 15) + (2*3 - 6) + 0 = 5 frames over 25 real ones.
    assert result.padding_ratio == pytest.approx(5 / 25)
    assert result.seconds_per_s_reps == pytest.approx([0.25 / t.seconds for t in timings.reps])
    with pytest.raises(ValueError, match=r"every timed rep, got none for \[2, 4\]"):
        audio_result(LengthsRecorder(FakeAudioLoader([])), timings.reps, 0.01)


def test_length_unit_of_waves_and_features() -> None:
    wave = audio_info(load_spec({"audio": {"sample_rate": 8000}}))
    assert (wave.length_unit, wave.hop, wave.unit_seconds) == ("samples", None, 1 / 8000)
    mfcc = audio_info(load_spec("audio_mfcc"))
    assert (mfcc.length_unit, mfcc.hop, mfcc.sample_rate) == ("frames", 160, 16000)


def test_loaders_for_a_modality() -> None:
    default = BenchConfig.model_validate({"device": "cpu"})
    assert select_loaders(default, "image") == (
        ["dali", "reference", "reference-tvio", "torchvision"], []
    )  # fmt: skip
    names, notes = select_loaders(default.model_copy(update={"bucketing": True}), "audio")
    assert names == ["dali", "reference", "dali-bucketed", "reference-bucketed"]
    assert notes == ["reference-tvio, torchvision skipped: they read no audio"]
    asked = BenchConfig.model_validate(
        {"device": "cpu", "loaders": ["dali", "reference", "reference-tvio"]}
    )
    with pytest.raises(ValueError, match=r"reference-tvio cannot read audio .* expected names"):
        select_loaders(asked, "audio")
    with pytest.raises(ValueError, match="dali-bucketed cannot read image"):
        select_loaders(audio_config(loaders=["dali", "reference", "dali-bucketed"]), "image")
    with pytest.raises(ValueError, match="bucketing: expected an audio spec"):
        select_loaders(audio_config(bucketing=True), "image")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"loaders": ["dali", "reference", "torchvision"]}, "torchvision cannot read audio"),
        ({"mode": "train"}, "mode: expected loader for an audio spec"),
    ],
)
def test_refused_before_any_data_is_read(
    tmp_path: Path, overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):  # the folder does not exist: never opened
        run_bench(tmp_path / "missing", audio_config(**overrides))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--modality", "audio", "--spec", "imagenet_train"], "expected an audio spec"),
        (["--modality", "image", "--spec", "audio_mfcc"], "expected an image spec"),
        (["--modality", "audio", "--loaders", "dali,reference,torchvision"], "cannot read audio"),
        (["--bucketing"], "bucketing: expected an audio spec"),
        (["--spec", "speech_fbank80", "--mode", "train"], "mode: expected loader"),
        (["--spec", "nope"], "--spec: "),
    ],
)
def test_cli_usage_errors(
    argv: list[str], message: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["bench", "--data", str(tmp_path / "missing"), *argv]) == 2
    assert message in capsys.readouterr().err


def test_cli_audio_demo_options(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--modality", "audio", "--classes", "3"]) == 2
    assert "--classes: expected none for audio demo data" in capsys.readouterr().err
    assert main(["bench", "--modality", "audio", "--n", "3"]) == 2
    assert "--n: expected at least 4 clips" in capsys.readouterr().err


@pytest.mark.integration
def test_cli_modality_audio_on_a_folder(
    audio_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    argv = ["bench", "--modality", "audio", "--data", str(audio_folder), *FAST,
            "--json", str(out / "r.json"), "--markdown", str(out / "r.md")]  # fmt: skip
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert "speedup DALI / reference: " in captured.out and "samples/s" in captured.out
    assert "skipped: they read no audio" in captured.out
    data = json.loads((out / "r.json").read_text(encoding="utf-8"))
    assert data["config"]["spec"] == "speech_fbank80" and data["config"]["bucketing"] is False
    assert list(data["loaders"]) == ["dali", "reference"]
    assert data["spec_fingerprint"] in (out / "r.md").read_text(encoding="utf-8")


@pytest.mark.integration
def test_cli_demo_audio_is_made_once_and_reused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "--spec", "audio_mfcc", "--n", "4", "--cache-dir", str(tmp_path / "cache"),
            *FAST, "--json", str(tmp_path / "r.json")]  # fmt: skip
    assert main(argv) == 0
    assert "made demo data" in capsys.readouterr().err
    data = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert data["env"]["dataset"]["root"].endswith("demo-audio-4-0/clips")
    assert data["env"]["dataset"]["audio"]["files"] == 4
    # audio_mfcc cuts every clip to 1 s: 101 frames each, no padding.
    assert data["dali"]["audio"]["padding_ratio"] == 0.0
    assert data["dali"]["audio"]["seconds_per_epoch"] == pytest.approx(4 * 1.01)
    assert main(argv) == 0
    assert "reusing demo data" in capsys.readouterr().err


def test_short_image_epochs_get_a_note_or_a_lead_in(
    jpeg_folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dali_pipelines.bench import planned_epochs

    from .test_report import config, install_fakes

    install_fakes(monkeypatch)
    plain = run_bench(jpeg_folder, config(reps=1, warmup=0, loaders=["dali", "reference"]))
    assert plain.notes == [
        "epochs of 6 batches without a lead-in: DALI starts each timed epoch with batches "
        "prefetched while the other loaders ran (and takes CPU from them); --lead-in on times "
        "every loader in its steady state"
    ]
    cfg = config(reps=2, warmup=0, loaders=["dali", "reference"], lead_in="on")
    assert planned_epochs(cfg) == 2 * planned_epochs(cfg.model_copy(update={"lead_in": "off"}))
    led = run_bench(jpeg_folder, cfg)
    assert [n.split(":")[0] for n in led.notes] == ["lead-in"]
    assert [len(led.dali.epoch_s), len(led.dali.images_per_s_reps)] == [2, 2]
