"""``dali-pipelines preview``: the PNG read back (size, not blank, labelled), the draws behind
it (epochs differ, DALI and the reference agree on the same draws, normalize undone), audio and
COCO boxes, and bad usage."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import soundfile
import yaml

from dali_pipelines.bench.preview import PreviewConfig, collect_preview, draws_differ
from dali_pipelines.bench.preview_plot import DPI, figure_size, render_preview
from dali_pipelines.cli.main import main
from tests.conftest import write_image_folder
from tests.sources_data import SQUARES, write_coco

pytest.importorskip("matplotlib")
pytestmark = pytest.mark.integration

BOXES_SPEC = {
    "name": "coco_preview",
    "ops": [
        {"op": "horizontal_flip", "p": 0.5},
        {"op": "resize", "size": [64, 96]},
        {"op": "normalize", "mean": [0.5], "std": [0.25]},
    ],
    "source": {"outputs": [{"kind": "image", "name": "image"}, {"kind": "boxes"}]},
}


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_image_folder(
        tmp_path_factory.mktemp("preview_images"), classes=2, per_class=3, min_side=64
    )


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two classes of two 0.4 s clips: a tone and noise, at 16 kHz."""
    root = tmp_path_factory.mktemp("preview_audio")
    rng = np.random.default_rng(0)
    t = np.arange(6400) / 16000
    for name, make in (
        ("tone", lambda k: 0.5 * np.sin(2 * np.pi * (300 + 200 * k) * t)),
        ("noise", lambda k: rng.uniform(-0.3, 0.3, t.size)),
    ):
        (root / name).mkdir()
        for k in range(2):
            soundfile.write(root / name / f"{k}.wav", make(k), 16000, subtype="PCM_16")
    return root


def _config(**fields: Any) -> PreviewConfig:
    return PreviewConfig(**({"samples": 3, "draws": 2} | fields))


def _png(path: Path) -> np.ndarray:
    from matplotlib.image import imread

    return np.asarray(imread(path))


def _expected_pixels(preview: Any) -> tuple[int, int]:
    width, height = figure_size(preview)
    return round(height * DPI), round(width * DPI)


def _tile_pixels(png: np.ndarray, fig: Any, row: int, col: int) -> np.ndarray:
    """The PNG's pixels inside the axes at (row, col) of the rendered figure."""
    ax = fig.axes[row * _columns(fig) + col]
    box = ax.get_position()
    height, width = png.shape[:2]
    top, bottom = round((1 - box.y1) * height), round((1 - box.y0) * height)
    return png[top + 2 : bottom - 2, round(box.x0 * width) + 2 : round(box.x1 * width) - 2, :3]


def _columns(fig: Any) -> int:
    return int(fig.axes[0].get_subplotspec().get_gridspec().ncols)


def test_image_grid_png_has_the_size_content_and_labels(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "grid.png"
    argv = ["preview", "imagenet_train", "--data", str(images), "--out", str(out)]
    assert main([*argv, "--samples", "3", "--draws", "2", "--device", "cpu"]) == 0
    preview = collect_preview(images, _config(spec="imagenet_train"))
    png = _png(out)
    assert png.shape[:2] == _expected_pixels(preview) == (round(7.0 * DPI), round(5.4 * DPI))
    fig = render_preview(preview)
    fig.canvas.draw()  # positions after the constrained layout, as savefig has them
    for row in range(3):
        for col in range(2):
            tile = _tile_pixels(png, fig, row, col)
            assert tile.std() > 0.05, f"tile {row},{col} is blank"
            # The PNG shows that tile's image: its mean colour within rounding and resampling.
            shown = preview.tiles["dali"][col][row].data.mean(axis=(0, 1))
            np.testing.assert_allclose(tile.mean(axis=(0, 1)), shown, atol=0.03)
    # Labelled: the title names the spec and its fingerprint; headers and row labels.
    title = fig.get_suptitle()
    assert "imagenet_train" in title and preview.fingerprint in title
    assert [ax.get_title() for ax in fig.axes[:2]] == ["draw 0", "draw 1"]
    row_labels = [fig.axes[r * 2].get_ylabel() for r in range(3)]
    assert row_labels[0] == "class_0/000.jpg\nlabel 0 (class_0)"
    assert [label.split("\n")[0] for label in row_labels] == [
        "class_0/000.jpg",
        "class_0/001.jpg",
        "class_0/002.jpg",
    ]


def test_draws_differ_across_epochs_only_for_a_random_spec(images: Path) -> None:
    train = collect_preview(images, _config(spec="imagenet_train"))
    assert train.random and draws_differ(train)
    val = collect_preview(images, _config(spec="imagenet_val"))
    assert not val.random and not draws_differ(val)
    assert "draws nothing at random" in render_preview(val).get_suptitle()


def test_normalize_is_undone_for_viewing(images: Path, tmp_path: Path) -> None:
    """A normalized float output, a plain float one and a uint8 one look alike after undoing."""
    resize = {"op": "resize", "size": [48, 48]}
    specs = {
        "float": {"ops": [resize]},
        "uint8": {"ops": [resize], "output": {"dtype": "uint8"}},
        "normalized": {"ops": [resize, {"op": "normalize", "mean": [0.4], "std": [0.2]}]},
    }
    tiles = {}
    for name, spec in specs.items():
        path = tmp_path / f"{name}.yaml"

        path.write_text(yaml.safe_dump(spec))
        preview = collect_preview(images, _config(spec=str(path), draws=1))
        tiles[name] = np.stack([t.data for t in preview.tiles["dali"][0]])
    assert tiles["float"].shape == (3, 48, 48, 3)
    assert tiles["float"].min() >= 0.0 and tiles["float"].max() <= 1.0
    assert tiles["float"].std() > 0.1
    np.testing.assert_allclose(tiles["uint8"], tiles["float"], atol=1 / 255 + 1e-6)
    np.testing.assert_allclose(tiles["normalized"], tiles["float"], atol=1e-5)


def test_reference_doubles_the_columns_on_the_same_draws(images: Path, tmp_path: Path) -> None:
    out = tmp_path / "both.png"
    argv = ["preview", "imagenet_train", "--data", str(images), "--out", str(out)]
    assert main([*argv, "--samples", "3", "--draws", "2", "--reference"]) == 0
    preview = collect_preview(images, _config(spec="imagenet_train", reference=True))
    assert len(preview.columns) == 4
    single = collect_preview(images, _config(spec="imagenet_train"))
    wide, narrow = _expected_pixels(preview), _expected_pixels(single)
    assert _png(out).shape[:2] == wide and wide[0] == narrow[0] and wide[1] > narrow[1] * 1.7
    fig = render_preview(preview)
    assert [ax.get_title() for ax in fig.axes[:4]] == [
        "draw 0 · DALI",
        "draw 0 · reference",
        "draw 1 · DALI",
        "draw 1 · reference",
    ]
    # Same draws: each reference tile is close to its DALI tile, far from another draw's.
    dali, reference = preview.tiles["dali"], preview.tiles["reference"]
    for draw in range(2):
        for row in range(3):
            same = np.abs(dali[draw][row].data - reference[draw][row].data).mean()
            other = np.abs(dali[1 - draw][row].data - reference[draw][row].data).mean()
            assert same < 0.02 and other > 5 * same


def test_audio_spec_renders_features_and_waves(audio: Path, tmp_path: Path) -> None:
    out = tmp_path / "audio.png"
    argv = ["preview", "speech_fbank80", "--data", str(audio), "--out", str(out)]
    assert main([*argv, "--samples", "3", "--draws", "2"]) == 0
    preview = collect_preview(audio, _config(spec="speech_fbank80"))
    png = _png(out)
    assert png.shape[:2] == _expected_pixels(preview)
    tile = preview.tiles["dali"][0][0]
    assert tile.kind == "features" and tile.data.shape == (80, 6400 // 160 + 1)
    fig = render_preview(preview)
    fig.canvas.draw()
    assert _tile_pixels(png, fig, 0, 0).std() > 0.05
    assert fig.axes[-1].get_ylabel().startswith("dB, normalized per bin")  # the colorbar
    assert fig.axes[2 * 2].get_xlabel() == "seconds"  # the bottom row
    wave_spec = tmp_path / "wave.yaml"
    wave_spec.write_text(
        "audio: {sample_rate: 8000}\nops: [{op: gain, min_db: -6, max_db: 6, p: 1.0}]\n"
    )
    waves = collect_preview(audio, _config(spec=str(wave_spec)))
    first = waves.tiles["dali"][0][0]
    assert first.kind == "wave" and first.data.shape == (1, 3200)
    assert draws_differ(waves)  # the gain differs per epoch
    assert main(["preview", str(wave_spec), "--data", str(audio), "--out", str(out)]) == 0


def test_coco_boxes_are_drawn_on_their_squares(tmp_path: Path) -> None:

    annotations, images_dir = write_coco(tmp_path / "coco")
    spec = tmp_path / "boxes.yaml"
    spec.write_text(yaml.safe_dump(BOXES_SPEC))
    out = tmp_path / "coco.png"
    argv = ["preview", str(spec), "--data", str(images_dir), "--out", str(out)]
    assert main([*argv, "--annotations", str(annotations)]) == 0
    config = PreviewConfig(spec=str(spec), annotations=annotations, samples=4, draws=3)
    preview = collect_preview(images_dir, config)
    assert [row.label for row in preview.rows] == ["1 box"] * 4
    for draws in preview.tiles["dali"]:
        for tile in draws:
            assert tile.boxes is not None and tile.box_names == ("red",)
            x1, y1, x2, y2 = tile.boxes[0]
            # The square (230, 30, 30) inside its box, the background (20, 20, 20) outside:
            # both far outside [0, 1] while normalized, back to their colours here.
            centre = tile.data[int((y1 + y2) / 2), int((x1 + x2) / 2)]
            np.testing.assert_allclose(centre, np.array([230, 30, 30]) / 255, atol=0.03)
            corner = tile.data[63, 0] if y1 > 10 else tile.data[63, 95]
            np.testing.assert_allclose(corner, np.full(3, 20 / 255), atol=0.03)
    assert len(SQUARES) == 4
    fig = render_preview(preview)
    assert sum(len(ax.patches) for ax in fig.axes) == 4 * 3
    assert main(argv) == 2  # boxes without --annotations: a usage error


@pytest.mark.parametrize(
    ("extra", "words", "code"),
    [
        ([], "--data: expected an image or audio folder, got none", 2),
        (["--data", "missing-folder"], "--data: expected a folder", 2),
        (["--data", "EMPTY"], "expected class sub-folders", 1),
        (["--data", "IMAGES", "--samples", "0"], "--samples", 2),
        (["--data", "IMAGES", "--device", "tpu"], "--device", 2),
        (["--data", "IMAGES", "--annotations", "none.json"], "--annotations", 2),
    ],
)
def test_bad_usage_and_bad_data(
    images: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    words: str,
    code: int,
) -> None:
    (tmp_path / "empty").mkdir()
    places = {"EMPTY": str(tmp_path / "empty"), "IMAGES": str(images)}
    extra = [places.get(v, v) for v in extra]
    out = tmp_path / "grid.png"
    assert main(["preview", "imagenet_train", "--out", str(out), *extra]) == code
    assert words in " ".join(capsys.readouterr().err.split())
    assert not out.exists()


def test_unknown_spec_is_a_usage_error(images: Path, tmp_path: Path) -> None:
    argv = ["preview", "no_such_spec", "--data", str(images), "--out", str(tmp_path / "g.png")]
    assert main(argv) == 2


@pytest.mark.parametrize("columns", ["80", "200"])
def test_message_keeps_the_path_whole(
    images: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: Any, columns: str
) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    out = tmp_path / "a-folder-with-a-long-name-for-the-preview-grid-of-this-test" / "grid.png"
    argv = ["preview", "imagenet_val", "--data", str(images), "--out", str(out)]
    assert main([*argv, "--samples", "1", "--draws", "1"]) == 0
    assert f"preview written to {out}\n" in capsys.readouterr().err
    assert _png(out).shape[:2] == (round(3.0 * DPI), round(3.4 * DPI))
