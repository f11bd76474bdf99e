"""``max_side="auto"``: the bound planned from the spec's draws over the data's image sizes."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from dali_pipelines.cli.main import main
from dali_pipelines.errors import DatasetError
from dali_pipelines.plan import make_plan
from dali_pipelines.plan.decode_scale import side_for
from dali_pipelines.preparation import prepare
from dali_pipelines.spec import load_spec
from tests.preparation.helpers import write_folder

#: (height, width): the short side is 400 everywhere, so imagenet_val's resize to 256 needs a
#: long side of 256 x 600 / 400 = 384 for the landscape ones.
SIZES = [(400, 600), (600, 400), (400, 600), (400, 400)]


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_folder(tmp_path_factory.mktemp("auto"), SIZES)


def test_a_shorter_side_resize_plans_its_own_side(folder: Path, tmp_path: Path) -> None:
    manifest = prepare(folder, tmp_path / "out", spec="imagenet_val", max_side="auto", workers=1)
    assert manifest.options.max_side == math.ceil(256 * 600 / 400) == 384
    # Every long side is above 384: the landscape images shrink to a short side of 256.
    assert (manifest.counts.kept, manifest.counts.reencoded) == (0, 4)


def test_coverage_trades_the_bound_against_upsampled_draws(folder: Path, tmp_path: Path) -> None:
    plan = make_plan(load_spec("imagenet_train"))
    sizes = [SIZES[i] for i in (0, 2, 1, 3)]  # ImageFolder order: class0/000, class0/002, ...
    full = prepare(folder, tmp_path / "a", spec="imagenet_train", max_side="auto", coverage=1.0)
    half = prepare(folder, tmp_path / "b", spec="imagenet_train", max_side="auto", coverage=0.5)
    assert full.options.max_side == side_for(plan, sizes, coverage=1.0)
    assert half.options.max_side == side_for(plan, sizes, coverage=0.5)
    assert half.options.max_side is not None and full.options.max_side is not None
    assert half.options.max_side <= full.options.max_side


def test_refusals(folder: Path, tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="max_side: expected a spec with 'auto'"):
        prepare(folder, tmp_path / "a", max_side="auto")
    with pytest.raises(DatasetError, match=r"coverage: expected 0 < coverage <= 1, got 1\.5"):
        prepare(folder, tmp_path / "b", spec="imagenet_val", max_side="auto", coverage=1.5)


def test_cli(folder: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["prepare", str(folder), str(tmp_path / "a"), "--max-side", "auto"]) == 2
    assert "--max-side auto: expected --spec" in capsys.readouterr().err
    args = ["--max-side", "auto", "--spec", "imagenet_val", "--workers", "1"]
    assert main(["prepare", str(folder), str(tmp_path / "b"), *args]) == 0
    assert "bound: max side 384 px, JPEG quality 90" in capsys.readouterr().out
    assert main(["prepare", str(folder), str(tmp_path / "c"), *args, "--coverage", "0"]) == 2
    assert "--coverage: expected a number in (0, 1]" in capsys.readouterr().err
