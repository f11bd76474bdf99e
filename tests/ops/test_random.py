"""Statistics of the random ops' draws: rates, bounds, agreement with torchvision's sampler."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from dali_pipelines.ops import get_op, registered_ops

from . import harness
from .cases import OP_CASES

N = 2000


def _draws(name: str, params: dict, size: tuple[int, int], n: int = N, seed: int = 0) -> list:
    op = get_op(name)
    p = op.Params.model_validate({"op": name, **params})
    rng = np.random.default_rng(seed)
    return [op.draw(p, size, rng)[0] for _ in range(n)]


@pytest.mark.parametrize("name", ["horizontal_flip", "vertical_flip"])
@pytest.mark.parametrize("prob", [0.0, 0.1, 0.5, 0.9, 1.0])
def test_flip_rate(name: str, prob: float) -> None:
    flags = np.array([int(a["flip"]) for a in _draws(name, {"p": prob}, (32, 32))])
    assert set(np.unique(flags)) <= {0, 1}
    sigma = math.sqrt(prob * (1 - prob) / N)
    assert abs(flags.mean() - prob) <= 4 * sigma + 1e-12


def _windows(params: dict, size: tuple[int, int]) -> np.ndarray:
    draws = _draws("random_resized_crop", {"size": 32, **params}, size)
    return np.array([[*a["start"], *a["shape"]] for a in draws], dtype=np.int64)


@pytest.mark.parametrize("size", [(100, 150), (150, 100), (37, 41)])
def test_rrc_windows_inside_image_and_within_bounds(size: tuple[int, int]) -> None:
    scale, ratio = (0.08, 1.0), (3 / 4, 4 / 3)
    win = _windows({}, size)
    top, left, h, w = win.T
    assert (top >= 0).all() and (left >= 0).all()
    assert (top + h <= size[0]).all() and (left + w <= size[1]).all()
    assert (h > 0).all() and (w > 0).all()
    area = h * w / (size[0] * size[1])
    # Rounding h and w to integers moves area and ratio by at most about one pixel per side.
    slack_area = (h + w + 1) / (size[0] * size[1])
    assert (area >= scale[0] - slack_area).all() and (area <= scale[1] + slack_area).all()
    r = w / h
    assert (r >= ratio[0] * (1 - 1 / h) - 1 / h).all()
    assert (r <= ratio[1] * (1 + 1 / h) + 1 / h).all()


def test_rrc_fallback_is_torchvisions_centre_crop() -> None:
    win = _windows({"scale": (0.9, 1.0), "ratio": (5.0, 6.0)}, (60, 80))
    # in_ratio 4/3 < 5: full width, height = round(80 / 5) = 16, centred.
    assert (win == [(60 - 16) // 2, 0, 16, 80]).all()


def test_rrc_distribution_matches_torchvision_sampler() -> None:
    size = (120, 90)
    ours = _windows({}, size)
    from torchvision.transforms import v2

    torch.manual_seed(0)
    t = v2.RandomResizedCrop(32)
    img = torch.zeros(3, *size, dtype=torch.uint8)
    theirs = np.array(
        [[(q := t.make_params([img]))["top"], q["left"], q["height"], q["width"]] for _ in range(N)]
    )
    for col, label in [(2, "height"), (3, "width")]:
        a, b = ours[:, col].astype(float), theirs[:, col].astype(float)
        se = math.sqrt(a.var() / N + b.var() / N)
        assert abs(a.mean() - b.mean()) <= 4 * se, f"{label}: {a.mean()} vs {b.mean()}"
    area_ours = (ours[:, 2] * ours[:, 3]).astype(float)
    area_theirs = (theirs[:, 2] * theirs[:, 3]).astype(float)
    se = math.sqrt(area_ours.var() / N + area_theirs.var() / N)
    assert abs(area_ours.mean() - area_theirs.mean()) <= 4 * se


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_same_seed_same_args(name: str) -> None:
    op = registered_ops()[name]
    for case in OP_CASES[name]:
        chain = harness.resolve(case.chain)
        images = harness.make_images(case.sizes[:2], case.channels)
        a1, s1 = harness.draw_all(chain, images, seed=7)
        a2, s2 = harness.draw_all(chain, images, seed=7)
        assert s1 == s2
        for x, y in zip(a1, a2, strict=True):
            for dx, dy in zip(x, y, strict=True):
                assert dx.keys() == dy.keys()
                for k in dx:
                    np.testing.assert_array_equal(dx[k], dy[k])
    if op.random:
        # A random op must actually vary with the seed (over a handful of draws).
        p = harness.resolve(OP_CASES[name][0].chain)[-1][1]
        draws = [op.draw(p, (64, 64), np.random.default_rng(s))[0] for s in range(8)]
        assert any(not all(np.array_equal(d[k], draws[0][k]) for k in d) for d in draws[1:]), (
            f"{name} draws the same args for every seed"
        )


@pytest.mark.parametrize("name", sorted(OP_CASES))
def test_args_uniform_across_samples(name: str) -> None:
    """DALI argument inputs need one dtype and ndim for every sample of a batch."""
    op = registered_ops()[name]
    for case in OP_CASES[name]:
        p = harness.resolve(case.chain)[-1][1]
        rng = np.random.default_rng(1)
        draws = [
            op.draw(p, size, rng)[0] for size in [(130, 140), (150, 131), (128, 128), (133, 197)]
        ]
        for k in op.arg_names(p):
            assert len({(d[k].dtype, d[k].shape) for d in draws}) == 1, f"{name}.{k}"


def _jitter_steps(args: dict) -> list[tuple[int, float]]:
    """The (kind, factor) sequence a color_jitter draw applies, identity padding dropped."""
    steps = [(int(k), float(f)) for k, f in args.get("pre", ())]
    if "hue" in args:
        steps.append((3, float(args["hue"])))
        steps += [(int(k), float(f)) for k, f in args.get("post", ())]
    return [(k, f) for k, f in steps if k != -1]


def test_color_jitter_order_is_a_uniform_permutation() -> None:
    params = {"brightness": 0.4, "contrast": 0.4, "saturation": 0.4, "hue": 0.1}
    draws = _draws("color_jitter", params, (32, 32))
    for a in draws:  # fixed shapes: 3 linear slots before and after the single hue step
        assert a["pre"].shape == a["post"].shape == (3, 2) and a["hue"].shape == ()
    orders = [tuple(k for k, _ in _jitter_steps(a)) for a in draws]
    assert all(sorted(o) == [0, 1, 2, 3] for o in orders)
    counts = np.unique(np.array(orders), axis=0, return_counts=True)[1]
    assert len(counts) == 24
    expected = N / 24
    assert (np.abs(counts - expected) <= 5 * math.sqrt(expected)).all()
    steps = [step for a in draws for step in _jitter_steps(a)]
    for kind, (lo, hi) in enumerate([(0.6, 1.4), (0.6, 1.4), (0.6, 1.4), (-0.1, 0.1)]):
        f = np.array([v for k, v in steps if k == kind])
        assert len(f) == N
        assert f.min() >= lo - 1e-6 and f.max() <= hi + 1e-6
        assert abs(f.mean() - (lo + hi) / 2) <= 4 * (hi - lo) / math.sqrt(12 * N)


@pytest.mark.parametrize(
    ("params", "names"),
    [
        ({"brightness": 0.4}, ("pre",)),
        ({"hue": 0.2}, ("hue",)),
        ({"contrast": 0.3, "hue": 0.2}, ("pre", "post", "hue")),
        ({"brightness": (1.0, 1.0)}, ()),
    ],
)
def test_color_jitter_arg_names(params: dict, names: tuple[str, ...]) -> None:
    op = get_op("color_jitter")
    p = op.Params.model_validate({"op": "color_jitter", **params})
    assert op.arg_names(p) == names
    assert tuple(op.draw(p, (8, 8), np.random.default_rng(0))[0]) == names


def test_rotate_angles_uniform_in_range() -> None:
    angles = np.array([float(a["angle"]) for a in _draws("rotate", {"degrees": (-30, 60)}, (8, 8))])
    assert angles.min() >= -30 and angles.max() <= 60
    assert abs(angles.mean() - 15) <= 4 * 90 / math.sqrt(12 * N)
    pinned = _draws("rotate", {"degrees": (90, 90)}, (8, 8), n=5)
    assert all(float(a["angle"]) == 90.0 for a in pinned)


def test_gaussian_blur_sigma_in_range() -> None:
    sig = np.array([float(a["sigma"]) for a in _draws("gaussian_blur", {"kernel_size": 3}, (8, 8))])
    assert sig.min() >= 0.1 - 1e-6 and sig.max() <= 2.0 + 1e-6
    assert abs(sig.mean() - 1.05) <= 4 * 1.9 / math.sqrt(12 * N)


def test_random_crop_positions_cover_padded_range_uniformly() -> None:
    draws = _draws("random_crop", {"size": 10, "padding": 2}, (20, 30))
    tops = np.array([int(a["start"][0]) for a in draws])
    lefts = np.array([int(a["start"][1]) for a in draws])
    # Padded 24 x 34: top in [0, 14] and left in [0, 24] of the padded image, i.e. minus 2 here.
    assert set(np.unique(tops)) == set(range(-2, 13))
    assert set(np.unique(lefts)) == set(range(-2, 23))
    counts = np.bincount(tops + 2)
    assert (np.abs(counts - N / 15) <= 5 * math.sqrt(N / 15)).all()
