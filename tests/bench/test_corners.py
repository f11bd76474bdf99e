"""Four-corner runs (``bench --corners``): every loader on the originals and on a prepared copy.

Real loaders on a tiny folder: the run's shape, the ratios and the crop difference (measured,
so it must be small on smooth images and zero where nothing was re-encoded).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dali_pipelines.bench import BenchConfig, run_bench
from dali_pipelines.bench.compare import planned_epochs
from dali_pipelines.bench.corners import corner_ratios
from dali_pipelines.bench.markdown import render_markdown
from dali_pipelines.bench.report import Latency, LoaderResult
from dali_pipelines.bench.summary import headline
from dali_pipelines.data import ImageFolder
from dali_pipelines.preparation import prepare


def _config(prepared: Path | None, **overrides: object) -> BenchConfig:
    base: dict[str, object] = dict(
        spec="imagenet_train",
        batch_size=8,
        threads=1,
        reps=1,
        warmup=0,
        device="cpu",
        loaders=["dali", "reference"],
        corners=True,
        prepared=None if prepared is None else str(prepared),
    )
    return BenchConfig(**(base | overrides))  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def prepared(jpeg_folder: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corners") / "prepared"
    prepare(ImageFolder(jpeg_folder), out, max_side=64, workers=1)
    return out


def test_every_loader_runs_on_both_copies(jpeg_folder: Path, prepared: Path) -> None:
    config = _config(prepared)
    assert planned_epochs(config) == 4  # 2 loaders x 2 copies x 1 rep
    report = run_bench(jpeg_folder, config)
    assert list(report.loaders) == ["dali", "dali@prepared", "reference", "reference@prepared"]
    for name, result in report.loaders.items():
        assert result.images_per_epoch == 21, name
    info = report.prepared
    assert info is not None and info.max_side == 64 and info.images == 21
    assert info.reencoded > 0 and info.kept > 0 and info.reencoded + info.kept == 21
    assert "dali@prepared / reference" in info.ratios
    assert "dali@prepared / reference@prepared" in info.ratios
    loaders = report.loaders
    expected = loaders["dali@prepared"].images_per_s / loaders["reference"].images_per_s
    assert info.ratios["dali@prepared / reference"] == pytest.approx(expected)
    diff = info.crop_difference
    assert diff is not None and diff.images == 21
    # Smooth images downscaled to 64 px and upscaled back to 224: visible but bounded.
    assert 0 < diff.mean_abs < 12, diff
    lines = headline(report)
    corners = next(line for line in lines if line.startswith("corners: "))
    assert "dali@prepared / reference: " in corners, corners
    assert any("grey levels over 21 224-px crops" in line for line in lines)
    assert "dali@prepared" in render_markdown(report)


def test_nothing_reencoded_means_identical_crops(jpeg_folder: Path, tmp_path: Path) -> None:
    from dali_pipelines.bench.quality import crop_difference
    from dali_pipelines.data import Prepared

    out = tmp_path / "copy"
    prepare(ImageFolder(jpeg_folder), out, max_side=4096, workers=1)
    copy = Prepared(out)
    diff = crop_difference(ImageFolder(jpeg_folder), copy, copy.source_indices(), threads=1)
    assert diff.images == 21 and diff.mean_abs == 0.0 and diff.max_image_mean_abs == 0.0


def test_corners_refuse_audio_and_train(jpeg_folder: Path, prepared: Path) -> None:
    with pytest.raises(ValueError, match="corners: expected an image spec in loader mode"):
        run_bench(jpeg_folder, _config(prepared, mode="train"))
    with pytest.raises(ValueError, match="prepared: expected the folder of a prepare run"):
        run_bench(jpeg_folder, _config(None))


def _result(name: str, rate: float) -> LoaderResult:
    zero = Latency(mean=0, p50=0, p99=0, max=0)
    return LoaderResult(
        name=name,
        backend="b",
        device="cpu",
        workers=1,
        images_per_s=rate,
        images_per_s_q1=rate,
        images_per_s_q3=rate,
        images_per_s_iqr=0,
        images_per_s_reps=[rate],
        epoch_s=[1.0],
        images_per_epoch=1,
        batches_per_epoch=1,
        build_s=0,
        warmup_s=[],
        batch_ms=zero,
        wait_ms=zero,
        stall_fraction=0,
    )


def test_ratios_name_both_sides() -> None:
    rates = {"dali": 90.0, "dali@prepared": 600.0, "torchvision": 40.0}
    rates["torchvision@prepared"] = 300.0
    ratios = corner_ratios({k: _result(k, v) for k, v in rates.items()})
    assert ratios == {
        "dali@prepared / dali": pytest.approx(600 / 90),
        "dali@prepared / torchvision": pytest.approx(15.0),
        "dali@prepared / torchvision@prepared": pytest.approx(2.0),
        "torchvision@prepared / torchvision": pytest.approx(7.5),
    }


def test_cli_makes_the_copy_once_and_plans_its_side(
    jpeg_folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from dali_pipelines.cli.main import main

    args = ["bench", "--data", str(jpeg_folder), "--corners", "--loaders", "dali,reference"]
    args += ["--reps", "1", "--warmup", "0", "--threads", "1", "--batch-size", "8"]
    args += ["--device", "cpu", "--cache-dir", str(tmp_path), "--spec", "imagenet_val"]
    assert main([*args, "--max-side", "64"]) == 0
    captured = capsys.readouterr()
    assert "corners: dali@prepared / dali: " in captured.out
    assert "prepared copy in " in captured.err and "max side 64," in captured.err
    # auto: imagenet_val resizes the short side to 256, above these 48-96 px images: all kept.
    assert main([*args, "--max-side", "auto"]) == 0
    captured = capsys.readouterr()
    assert "0 re-encoded, 21 kept" in captured.err
    copies = sorted(p.name for p in (tmp_path / "prepared").iterdir())
    assert len(copies) == 2 and "-auto-" in copies[0] and copies[1].endswith("-max64"), copies
    assert main([*args, "--max-side", "8"]) == 2  # below the bound's minimum: usage
