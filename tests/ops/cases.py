"""OP_CASES: the test table, several cases per registered op (a registered op without one fails).

Each case is a short chain whose last op is the op under test (earlier ops set up its input, e.g.
a to_dtype before a float-only op), the input sizes, and the allowed DALI vs torch difference on
the output's scale (0-255 for uint8, 0-1 for float), matching the op's stated ``tolerance``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from dali_pipelines.ops.base import Size

MIXED: tuple[Size, ...] = ((48, 64), (64, 48), (41, 57), (96, 120))
SQUARE: tuple[Size, ...] = ((64, 64), (64, 64), (64, 64))


@dataclass(frozen=True)
class Case:
    id: str
    chain: tuple[dict[str, Any], ...]
    sizes: tuple[Size, ...] = MIXED
    channels: int = 3
    #: Allowed max / mean absolute difference between DALI and apply_torch.
    max_abs: float = 0.0
    mean_abs: float = 0.0
    #: The params pin the randomness: compare with the real torchvision transform too.
    vs_torchvision: bool = False
    #: Also run the first op's fused decode (PNG bytes -> build_dali_decode).
    fused: bool = False
    seed: int = 0

    @property
    def op(self) -> str:
        return str(self.chain[-1]["op"])


def _cases(*cases: Case) -> list[Case]:
    return list(cases)


RESIZE_TOL = {"max_abs": 3.0, "mean_abs": 0.5}
# DALI's nearest samples pixel centres (torchvision's NEAREST_EXACT); NEAREST floors: one-pixel
# shifts whose size is the local gradient of these smooth images.
NEAREST_TOL = {"max_abs": 40.0, "mean_abs": 6.0}

OP_CASES: dict[str, list[Case]] = {
    "resize": _cases(
        Case("shorter_side", ({"op": "resize", "size": 32},), **RESIZE_TOL, vs_torchvision=True),
        Case("exact_hw", ({"op": "resize", "size": (30, 50)},), **RESIZE_TOL, vs_torchvision=True),
        Case(
            "upscale_nearest",
            ({"op": "resize", "size": (130, 90), "interpolation": "nearest"},),
            **NEAREST_TOL,
        ),
    ),
    "normalize": _cases(
        Case(
            "imagenet",
            ({"op": "normalize", "mean": (0.485, 0.456, 0.406), "std": (0.229, 0.224, 0.225)},),
            max_abs=1e-5,
            mean_abs=1e-6,
            vs_torchvision=True,
        ),
        Case(
            "gray",
            ({"op": "normalize", "mean": (0.5,), "std": (0.25,)},),
            channels=1,
            max_abs=1e-5,
            mean_abs=1e-6,
            vs_torchvision=True,
        ),
    ),
    "random_resized_crop": _cases(
        Case("default", ({"op": "random_resized_crop", "size": 32},), **RESIZE_TOL, fused=True),
        Case(
            "rect_bicubic",
            ({"op": "random_resized_crop", "size": (24, 40), "interpolation": "bicubic"},),
            max_abs=4.0,
            mean_abs=0.5,
            fused=True,
        ),
        Case(
            "upscale_small_scale",
            ({"op": "random_resized_crop", "size": 80, "scale": (0.01, 0.05)},),
            **RESIZE_TOL,
            fused=True,
        ),
        Case(
            # The 10 attempts cannot fit a 5:1 crop in these images: torchvision's centre fallback.
            "fallback",
            ({"op": "random_resized_crop", "size": 16, "scale": (0.9, 1.0), "ratio": (5.0, 6.0)},),
            **RESIZE_TOL,
            fused=True,
        ),
        Case(
            "nearest_no_antialias",
            (
                {
                    "op": "random_resized_crop",
                    "size": 20,
                    "interpolation": "nearest",
                    "antialias": False,
                },
            ),
            **NEAREST_TOL,
        ),
        Case(
            # scale=(1, 1) and ratio pinned to the input's: the whole image, so no randomness.
            "pinned_whole_image",
            ({"op": "random_resized_crop", "size": 32, "scale": (1.0, 1.0), "ratio": (1.0, 1.0)},),
            sizes=SQUARE,
            **RESIZE_TOL,
            vs_torchvision=True,
        ),
        Case(
            "gray_after_resize",
            ({"op": "resize", "size": 50}, {"op": "random_resized_crop", "size": 24}),
            channels=1,
            **RESIZE_TOL,
        ),
    ),
    "horizontal_flip": _cases(
        Case("half", ({"op": "horizontal_flip"},), fused=False),
        Case("always", ({"op": "horizontal_flip", "p": 1.0},), vs_torchvision=True),
        Case("never", ({"op": "horizontal_flip", "p": 0.0},), vs_torchvision=True),
        Case("gray", ({"op": "horizontal_flip", "p": 0.7},), channels=1),
        Case(
            "after_rrc",
            ({"op": "random_resized_crop", "size": 32}, {"op": "horizontal_flip"}),
            **RESIZE_TOL,
            fused=True,
        ),
    ),
    "vertical_flip": _cases(
        Case("half", ({"op": "vertical_flip"},)),
        Case("always", ({"op": "vertical_flip", "p": 1.0},), vs_torchvision=True),
        Case("gray_never", ({"op": "vertical_flip", "p": 0.0},), channels=1, vs_torchvision=True),
    ),
    "center_crop": _cases(
        Case("square", ({"op": "center_crop", "size": 32},), vs_torchvision=True),
        # Odd margins exercise Python's round-half-to-even anchor.
        Case("odd_margins", ({"op": "center_crop", "size": (30, 41)},), vs_torchvision=True),
        Case(
            "larger_pads_zero",
            ({"op": "center_crop", "size": (70, 50)},),
            vs_torchvision=True,
        ),
        Case("gray_whole", ({"op": "center_crop", "size": 64},), SQUARE, 1, vs_torchvision=True),
        Case(
            "after_resize",
            ({"op": "resize", "size": 40}, {"op": "center_crop", "size": 36}),
            **RESIZE_TOL,
            vs_torchvision=True,
        ),
    ),
}

CJ = {"op": "color_jitter"}
CJ_TOL = {"max_abs": 2.0, "mean_abs": 0.01}
OP_CASES["color_jitter"] = _cases(
    Case("bcs", ({**CJ, "brightness": 0.4, "contrast": 0.4, "saturation": 0.4},), **CJ_TOL),
    Case(
        "all_four",
        ({**CJ, "brightness": 0.5, "contrast": 0.5, "saturation": 0.5, "hue": 0.3},),
        **CJ_TOL,
        seed=1,
    ),
    Case("hue_only", ({**CJ, "hue": 0.5},), **CJ_TOL),
    Case("strong_contrast", ({**CJ, "contrast": (1.5, 3.0)},), **CJ_TOL),
    Case(
        "gray_bc",
        ({**CJ, "brightness": 0.5, "contrast": 0.8, "saturation": 0.5, "hue": 0.2},),
        channels=1,
        **CJ_TOL,
    ),
    Case("pinned", ({**CJ, "brightness": (1.3, 1.3)},), **CJ_TOL, vs_torchvision=True),
    Case("noop", ({**CJ, "brightness": 0.0, "hue": 0.0},), vs_torchvision=True),
    Case(
        "float",
        (
            {"op": "to_dtype", "dtype": "float32", "scale": True},
            {**CJ, "brightness": 0.5, "contrast": 0.5, "saturation": 0.5, "hue": 0.4},
        ),
        max_abs=1e-5,
        mean_abs=1e-6,
    ),
)

F32 = {"op": "to_dtype", "dtype": "float32", "scale": True}
OP_CASES["to_dtype"] = _cases(
    Case("u8_f32_scale", (F32,), max_abs=1e-6, mean_abs=1e-7, vs_torchvision=True),
    Case("u8_f32_raw", ({"op": "to_dtype", "dtype": "float32"},), vs_torchvision=True),
    Case(
        "u8_f16_scale",
        ({"op": "to_dtype", "dtype": "float16", "scale": True},),
        max_abs=1e-3,
        mean_abs=1e-4,
        vs_torchvision=True,
    ),
    Case(
        "u8_bf16_scale",
        ({"op": "to_dtype", "dtype": "bfloat16", "scale": True},),
        max_abs=4e-3,
        mean_abs=1e-3,
        vs_torchvision=True,
    ),
    Case(
        "roundtrip_u8",
        (F32, {"op": "to_dtype", "dtype": "uint8", "scale": True}),
        vs_torchvision=True,
    ),
    Case(
        "f32_u8_raw",
        ({"op": "to_dtype", "dtype": "float32"}, {"op": "to_dtype", "dtype": "uint8"}),
        vs_torchvision=True,
    ),
    Case(
        "f32_f16",
        (F32, {"op": "to_dtype", "dtype": "float16", "scale": True}),
        max_abs=1e-3,
        mean_abs=1e-4,
        vs_torchvision=True,
    ),
    Case(
        "same",
        ({"op": "to_dtype", "dtype": "uint8", "scale": True},),
        channels=1,
        vs_torchvision=True,
    ),
)

OP_CASES["grayscale"] = _cases(
    Case("one", ({"op": "grayscale"},), vs_torchvision=True),
    Case("three", ({"op": "grayscale", "num_output_channels": 3},), vs_torchvision=True),
    Case(
        "from_gray_to_three",
        ({"op": "grayscale", "num_output_channels": 3},),
        channels=1,
        vs_torchvision=True,
    ),
    Case("float", (F32, {"op": "grayscale"}), max_abs=1e-6, mean_abs=1e-7, vs_torchvision=True),
)
OP_CASES["gaussian_blur"] = _cases(
    Case("default_sigma", ({"op": "gaussian_blur", "kernel_size": 5},)),
    Case("fixed", ({"op": "gaussian_blur", "kernel_size": 9, "sigma": 2.0},), vs_torchvision=True),
    Case("aniso_kxy", ({"op": "gaussian_blur", "kernel_size": (11, 3), "sigma": (0.5, 3.0)},)),
    Case(
        "gray_small_sigma",
        ({"op": "gaussian_blur", "kernel_size": 3, "sigma": (0.1, 0.2)},),
        channels=1,
    ),
    Case("float", (F32, {"op": "gaussian_blur", "kernel_size": 7}), max_abs=1e-6, mean_abs=1e-7),
)
OP_CASES["pad"] = _cases(
    Case("int", ({"op": "pad", "padding": 3},), vs_torchvision=True),
    Case("lr_tb_fill", ({"op": "pad", "padding": (2, 5), "fill": 128},), vs_torchvision=True),
    Case(
        "ltrb_rgb_fill",
        ({"op": "pad", "padding": (1, 2, 3, 4), "fill": (10, 20, 30)},),
        vs_torchvision=True,
    ),
    Case("zero", ({"op": "pad", "padding": 0},), channels=1, vs_torchvision=True),
    Case("float_fill", (F32, {"op": "pad", "padding": 4, "fill": 0.5}), vs_torchvision=True),
)
OP_CASES["random_crop"] = _cases(
    Case("plain", ({"op": "random_crop", "size": 32},)),
    Case("padding_fill", ({"op": "random_crop", "size": (40, 30), "padding": 4, "fill": 77},)),
    Case(
        "pad_if_needed",
        ({"op": "random_crop", "size": (70, 130), "pad_if_needed": True, "fill": (1, 2, 3)},),
    ),
    Case("ltrb_gray", ({"op": "random_crop", "size": 20, "padding": (0, 3, 6, 1)},), channels=1),
    Case("whole", ({"op": "random_crop", "size": 64},), sizes=SQUARE, vs_torchvision=True),
)
ROT_NN = {"max_abs": 255.0, "mean_abs": 0.05}
ROT_BILINEAR = {"max_abs": 255.0, "mean_abs": 0.6}
OP_CASES["rotate"] = _cases(
    Case("nearest", ({"op": "rotate", "degrees": 45},), **ROT_NN),
    Case(
        "bilinear_fill",
        ({"op": "rotate", "degrees": (-30, 60), "interpolation": "bilinear", "fill": 100},),
        **ROT_BILINEAR,
    ),
    Case("pinned_90", ({"op": "rotate", "degrees": (90, 90)},), vs_torchvision=True),
    Case(
        "pinned_bilinear",
        ({"op": "rotate", "degrees": (17, 17), "interpolation": "bilinear"},),
        **ROT_BILINEAR,
        vs_torchvision=True,
    ),
    Case("gray", ({"op": "rotate", "degrees": 180},), channels=1, **ROT_NN),
)


# Float inputs of the interpolating ops: their uint8 bounds over 255 (Op.bounds' float_abs).
OP_CASES["resize"].append(
    Case("float", (F32, {"op": "resize", "size": 32}), max_abs=0.012, mean_abs=0.002)
)
OP_CASES["random_resized_crop"].append(
    Case("float", (F32, {"op": "random_resized_crop", "size": 32}), max_abs=0.012, mean_abs=0.002)
)
OP_CASES["rotate"].append(
    Case(
        "float_bilinear",
        (F32, {"op": "rotate", "degrees": (-30, 60), "interpolation": "bilinear", "fill": 0.4}),
        max_abs=1.0,
        mean_abs=0.005,
    )
)
# float16 -> uint8 with scale: computed in float32 on both sides (1.0 stays 255).
OP_CASES["to_dtype"].append(
    Case(
        "f16_u8_scale",
        (
            {"op": "to_dtype", "dtype": "float16", "scale": True},
            {"op": "to_dtype", "dtype": "uint8", "scale": True},
        ),
    )
)


# Python stages (the hybrid executor): ops registered here for the table, one deterministic and
# one drawing from its per-sample generator. Same callable on both sides: exact.
def _invert(image: Any) -> Any:
    return 255 - image


def _noise(image: Any, rng: Any) -> Any:
    import numpy as np

    return np.clip(image.astype(np.int16) + rng.integers(-8, 9, image.shape), 0, 255).astype(
        np.uint8
    )


def _register_python_ops() -> None:
    from dali_pipelines import register_python_op

    register_python_op("tests_ops_invert")(_invert)
    register_python_op("tests_ops_noise")(_noise)


_register_python_ops()
OP_CASES["python"] = _cases(
    Case("invert", ({"op": "python", "name": "tests_ops_invert"},)),
    Case("noise_rng", ({"op": "python", "name": "tests_ops_noise"},)),
    Case("gray_invert", ({"op": "python", "name": "tests_ops_invert"},), channels=1),
)
