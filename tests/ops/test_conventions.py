"""The DALI argument conventions the op builders rely on, pinned against DALI itself.

If a DALI upgrade changes one of these, the failing test names the convention instead of an op
silently cropping the wrong window.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from . import harness

H, W = 6, 10


def _coded() -> np.ndarray:
    """Channel 0 encodes the row (10 * y), channel 1 the column (10 * x)."""
    img = np.zeros((H, W, 3), dtype=np.uint8)
    img[..., 0] = np.arange(H)[:, None] * 10
    img[..., 1] = np.arange(W)[None, :] * 10
    return img


def _run(
    graph: Any, *extra: np.ndarray, encoded: bool = False, image: np.ndarray | None = None
) -> np.ndarray:
    import nvidia.dali.fn as fn
    from nvidia.dali import pipeline_def

    img = _coded() if image is None else image
    img = harness.encode(img) if encoded else img
    batches = [[img]] + [[e] for e in extra]

    @pipeline_def(batch_size=1, num_threads=1, device_id=None)
    def pipe() -> Any:
        # The layout matters: without "HWC" gaussian_blur treats C as a third spatial axis.
        nodes = fn.external_source(
            source=lambda: batches,
            num_outputs=len(batches),
            layout=["" if encoded else "HWC"] + [""] * len(extra),
            batch=True,
        )
        return graph(*nodes)

    (out,) = pipe().run()
    return np.array(out[0])


def test_resize_size_is_height_width() -> None:
    import nvidia.dali.fn as fn

    assert _run(lambda x: fn.resize(x, size=[3.0, 5.0])).shape == (3, 5, 3)


def test_slice_with_axis_names_hw_takes_y_x() -> None:
    import nvidia.dali.fn as fn

    start, shape = np.array([1, 3], np.int32), np.array([2, 4], np.int32)
    out = _run(lambda x, s, h: fn.slice(x, start=s, shape=h, axis_names="HW"), start, shape)
    assert out.shape == (2, 4, 3)
    assert list(out[:, 0, 0]) == [10, 20] and list(out[0, :, 1]) == [30, 40, 50, 60]


def test_slice_pad_policy_fills_outside() -> None:
    import nvidia.dali.fn as fn

    start, shape = np.array([-1, -2], np.int32), np.array([8, 14], np.int32)
    out = _run(
        lambda x, s, h: fn.slice(
            x, start=s, shape=h, axis_names="HW", out_of_bounds_policy="pad", fill_values=[7, 8, 9]
        ),
        start,
        shape,
    )
    assert list(out[0, 0]) == [7, 8, 9] and list(out[1, 2]) == [0, 0, 0]


def test_decoder_slice_named_hw_and_positional_default_wh() -> None:
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    start, shape = np.array([1, 3], np.int32), np.array([2, 4], np.int32)
    named = _run(
        lambda e, s, h: fn.decoders.image_slice(
            e, start=s, shape=h, axis_names="HW", output_type=types.RGB
        ),
        start,
        shape,
        encoded=True,
    )
    positional = _run(
        lambda e, s, h: fn.decoders.image_slice(
            e, s, h, normalized_anchor=False, normalized_shape=False, output_type=types.RGB
        ),
        start[::-1].astype(np.float32),
        shape[::-1].astype(np.float32),
        encoded=True,
    )
    np.testing.assert_array_equal(named, _coded()[1:3, 3:7])
    np.testing.assert_array_equal(positional, named)


def test_gaussian_blur_window_is_layout_order() -> None:
    import nvidia.dali.fn as fn

    # A window spanning rows only blurs along y: the column code (channel 1) stays intact.
    out = _run(lambda x: fn.gaussian_blur(x, window_size=[5, 1], sigma=[2.0, 0.001]))
    np.testing.assert_array_equal(out[..., 1], _coded()[..., 1])
    assert not np.array_equal(out[..., 0], _coded()[..., 0])


@pytest.mark.parametrize("flag", [0, 1])
def test_flip_flag_argument_input(flag: int) -> None:
    import nvidia.dali.fn as fn

    out = _run(lambda x, f: fn.flip(x, horizontal=f, vertical=0), np.array(flag, np.int32))
    expected = _coded()[:, ::-1] if flag else _coded()
    np.testing.assert_array_equal(out, expected)


def test_rotate_positive_angle_is_counter_clockwise() -> None:
    import nvidia.dali.fn as fn
    import nvidia.dali.types as types

    square = np.zeros((9, 9, 1), np.uint8)
    square[0, 8] = 255  # top-right corner
    out = _run(
        lambda x, a: fn.rotate(x, angle=a, keep_size=True, interp_type=types.INTERP_NN),
        np.array(90.0, np.float32),
        image=square,
    )
    # Counter-clockwise by 90 degrees moves the top-right corner to the top-left.
    assert out[0, 0, 0] == 255 and out[0, 8, 0] == 0
