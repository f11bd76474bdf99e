"""Generate docs/operators.md from the op registry: ``python -m dali_pipelines.ops.docs``.

The page is rendered from the ops themselves (params models, class attributes, module
docstrings) so it cannot drift from the code; a test fails when the committed file is stale.
"""

from __future__ import annotations

import argparse
import inspect
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any

from annotated_types import Ge, Gt, Le, Lt
from pydantic_core import PydanticUndefined

from .base import Op, Tolerance, registered_ops

DOC_PATH = Path("docs") / "operators.md"

#: Measured DALI vs reference backend, end to end through ``DataLoader(backend=...)`` on the
#: chains of tests/ops/cases.py (PNG inputs, one sample a batch, CPU; DALI 2.4, torch 2.14.1,
#: torchvision 0.29.1): per op and bound variant (``"op"`` or ``"op (when)"``), the uint8 max
#: and mean absolute difference (0-255) and the float max; ``None``: no such case. Regenerate
#: with ``DALI_PIPELINES_BOUNDS_REPORT=<file> pytest tests/backends/test_reference.py``.
END_TO_END: dict[str, tuple[float | None, float | None, float | None]] = {
    "center_crop": (0.0, 0.0, None),
    "color_jitter": (1.0, 6.67e-05, 8.34e-07),
    "gaussian_blur": (1.0, 5e-05, 4.77e-07),
    "grayscale": (0.0, 0.0, 1.19e-07),
    "horizontal_flip": (0.0, 0.0, None),
    "normalize": (None, None, 7.15e-07),
    "pad": (0.0, 0.0, 0.0),
    "python": (0.0, 0.0, None),
    "random_crop": (0.0, 0.0, None),
    "random_resized_crop": (2.0, 0.224, 0.003),
    "random_resized_crop (interpolation=bicubic)": (1.0, 0.17, None),
    "random_resized_crop (interpolation=nearest)": (26.0, 4.84, None),
    "resize": (1.0, 0.162, 0.00287),
    "resize (interpolation=nearest)": (24.0, 2.17, None),
    "rotate": (9.0, 0.000433, None),
    "rotate (interpolation=bilinear)": (45.0, 0.341, 0.175),
    "to_dtype": (0.0, 0.0, 0.0),
    "to_dtype (dtype=bfloat16)": (None, None, 0.00195),
    "to_dtype (dtype=float16)": (None, None, 0.0),
    "vertical_flip": (0.0, 0.0, None),
}

#: Measured DALI vs reference for the audio ops: per op and bound variant (as above), the
#: largest float difference of the op's DALI output and its ``reference`` applied to the same
#: input (DALI's output of the op before) with the same draws, over every case of
#: tests/ops/audio where the op runs (CPU; DALI 2.4, torch 2.14.1, scipy 1.17.1, librosa
#: 0.11.0, soxr 1.1.0). tests/ops/audio/test_documented.py checks these figures; regenerate with
#: ``DALI_PIPELINES_AUDIO_BOUNDS_REPORT=<file> pytest tests/ops/audio/test_documented.py``.
AUDIO_MEASURED: dict[str, float] = {
    "add_noise": 2.38e-07,
    "fix_duration": 0.0,
    "freq_mask": 0.0,
    "gain": 0.0,
    "mel_filter_bank": 0.000227,
    "mel_filter_bank (norm=None)": 0.0177,
    "mfcc": 0.000977,
    "resample": 0.035,
    "spectrogram": 1.14e-05,
    "spectrogram (power=2)": 0.00061,
    "speed_perturb": 0.0386,
    "time_mask": 0.0,
    "time_shift": 0.0,
    "to_decibels": 1.53e-05,
    "utterance_norm": 4.29e-06,
}

_BOUNDS = {Gt: (">", "gt"), Ge: (">=", "ge"), Lt: ("<", "lt"), Le: ("<=", "le")}


def _bounds(metadata: list[Any]) -> str:
    parts = []
    for item in metadata:
        for kind, (sign, attr) in _BOUNDS.items():
            if isinstance(item, kind):
                parts.append(f"{sign} {getattr(item, attr)}")
    return ", ".join(parts)


def type_str(annotation: Any, metadata: list[Any] | None = None) -> str:
    """A readable type: ``int > 0 | tuple[int > 0, int > 0]``, ``'a' | 'b'``, ``None``."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return type_str(args[0], list(args[1:]) + list(metadata or []))
    if origin in (typing.Union, types.UnionType):
        return " | ".join(type_str(a) for a in args)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in args)
    if origin is tuple:
        inner = ", ".join("..." if a is Ellipsis else type_str(a) for a in args)
        return f"tuple[{inner}]"
    name = "None" if annotation is type(None) else getattr(annotation, "__name__", str(annotation))
    bounds = _bounds(metadata or [])
    return f"{name} {bounds}" if bounds else name


def _field_comments(params: type) -> dict[str, str]:
    """The ``#:`` comments written above each field of the params model (and its bases)."""
    out: dict[str, str] = {}
    for cls in reversed(params.__mro__):
        try:
            lines = inspect.getsource(cls).splitlines()
        except (OSError, TypeError):
            continue
        pending: list[str] = []
        for line in lines:
            text = line.strip()
            if text.startswith("#:"):
                pending.append(text[2:].strip())
                continue
            match = re.match(r"(\w+)\s*:", text)
            if match and pending:
                out[match.group(1)] = " ".join(pending).replace("``", "`")
            pending = []
    return out


def _default(field: Any) -> str:
    if field.default is PydanticUndefined:
        return "required"
    value = field.default
    if isinstance(value, float):
        return f"`{value:.6g}`"
    if isinstance(value, tuple):
        return (
            "`(" + ", ".join(f"{v:.6g}" if isinstance(v, float) else repr(v) for v in value) + ")`"
        )
    return f"`{value!r}`"


def _summary(op: Op[Any]) -> str:
    doc = inspect.getdoc(sys.modules[type(op).__module__]) or ""
    first = " ".join(doc.split("\n\n")[0].split()).replace("``", "`")
    # Module docstrings open with "name: ..."; the heading already says the name.
    prefix = f"{op.name}: "
    first = first[len(prefix) :] if first.startswith(prefix) else first
    return first


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _variant(op: Op[Any], bound: Tolerance) -> str:
    """The label of one bound: its condition, ``otherwise`` after others, or nothing."""
    if bound.when:
        return bound.when.replace("=", " = ")
    return "otherwise" if len(op.bounds) > 1 else ""


def _bounds_cell(op: Op[Any]) -> str:
    parts = []
    for bound in op.bounds:
        label = _variant(op, bound)
        text = Tolerance(bound.max_abs, bound.mean_abs, bound.float_abs).describe()
        parts.append(f"{label}: {text}" if label else text)
    return _cell("<br>".join(parts))


def _figure(value: float | None) -> str:
    return "no case" if value is None else f"{value:.3g}"


def _measured_cell(op: Op[Any]) -> str:
    parts = []
    for bound in op.bounds:
        key = f"{op.name} ({bound.when})" if bound.when else op.name
        label = _variant(op, bound)
        most, mean, floats = END_TO_END.get(key, (None, None, None))
        uint8 = "uint8 no case" if most is None else f"uint8 max {most:.3g}, mean {_figure(mean)}"
        text = f"{uint8}; float max {_figure(floats)}"
        parts.append(f"{label}: {text}" if label else text)
    return _cell("<br>".join(parts))


def _heading(op: Op[Any]) -> list[str]:
    """An op's section title, summary and the head of its two-column table."""
    return [f"## `{op.name}`", "", _summary(op), "", "| | |", "|---|---|"]


def render_op(op: Op[Any]) -> str:
    yes_no = {True: "yes", False: "no"}
    lines = [
        *_heading(op),
        f"| torchvision | `{op.torchvision_name}` |",
        f"| DALI operator | {_cell(op.dali_operator)} |",
        f"| DALI CPU / GPU | {yes_no[op.dali_cpu]} / {yes_no[op.dali_gpu]} |",
        f"| Randomness | {_randomness(op)} |",
        f"| Tolerance vs torchvision | {_cell(op.tolerance)} |",
        f"| Stated bound, DALI vs reference backend | {_bounds_cell(op)} |",
        f"| Measured end to end, DALI vs reference backend | {_measured_cell(op)} |",
        "",
        *_params_table(op),
    ]
    return "\n".join(lines) + "\n"


def _params_table(op: Op[Any]) -> list[str]:
    comments = _field_comments(op.Params)
    lines = ["| param | type | default | description |", "|---|---|---|---|"]
    for name, field in op.Params.model_fields.items():
        if name == "op":
            continue
        kind = _cell(type_str(field.annotation, list(field.metadata)))
        lines.append(f"| `{name}` | {kind} | {_default(field)} | {_cell(comments.get(name, ''))} |")
    return lines


def _randomness(op: Op[Any]) -> str:
    if not op.random:
        return "none (deterministic)"
    return (
        "per sample, drawn in Python from the (seed, epoch, index) generator and fed to DALI as "
        "argument inputs"
    )


def _audio_bounds_cell(op: Op[Any], measured: bool) -> str:
    """Float max per bound variant: the stated bound, or what the audio cases measured."""
    parts = []
    for bound in op.bounds:
        label = _variant(op, bound)
        if measured:
            key = f"{op.name} ({bound.when})" if bound.when else op.name
            value = AUDIO_MEASURED.get(key)
            text = "no case" if value is None else f"float max {value:.3g}"
        else:
            text = "exact" if not bound.float_abs else f"float max {bound.float_abs:g}"
        parts.append(f"{label}: {text}" if label else text)
    return _cell("<br>".join(parts))


def render_audio_op(op: Op[Any]) -> str:
    yes_no = {True: "yes", False: "no"}
    lines = [
        *_heading(op),
        f"| DALI operator | {_cell(op.dali_operator)} |",
        f"| DALI CPU / GPU | {yes_no[op.dali_cpu]} / {yes_no[op.dali_gpu]} |",
        f"| Reference | {_cell(getattr(op, 'reference_name', ''))} |",
        f"| Randomness | {_randomness(op)} |",
        f"| Tolerance vs reference | {_cell(op.tolerance)} |",
        f"| Stated bound, DALI vs reference | {_audio_bounds_cell(op, measured=False)} |",
        f"| Measured, DALI vs reference | {_audio_bounds_cell(op, measured=True)} |",
        "",
        *_params_table(op),
    ]
    return "\n".join(lines) + "\n"


AUDIO_INTRO = (
    "Audio ops follow an audio decode (a spec with an `audio` section). Each has a params "
    "model, a shape rule over the audio state (a wave's channels and samples; features' kind, "
    "bins and frames, the frames following the wave's samples by the spectrogram's rule), a "
    "DALI builder and a reference: an independent implementation (torch, scipy, librosa's mel "
    "basis; never DALI). Random parameters are drawn in Python per sample and handed to DALI "
    "as argument inputs; DALI's own generator never runs. A wave is (channels, samples), "
    "features (bins, frames); sizes and lengths are in samples, frames and bins. The stated "
    "bound is the op's `bounds`: the max absolute difference in the output's own units, DALI "
    "vs the op's reference applied to the same input and draws; tests/ops/audio checks it on "
    "every case (waves in [-1, 1], 16 kHz unless a case says otherwise, lengths varying per "
    "sample), and the measured row is the largest difference those cases gave."
)


def render_audio_section(ops: list[Op[Any]]) -> str:
    lines = [
        "## Audio ops",
        "",
        AUDIO_INTRO,
        "",
        "| op | reference | random | CPU | GPU |",
        "|---|---|---|---|---|",
    ]
    for op in ops:
        lines.append(
            f"| [`{op.name}`](#{op.name}) | {_cell(getattr(op, 'reference_name', ''))} | "
            f"{'yes' if op.random else 'no'} | {'yes' if op.dali_cpu else 'no'} | "
            f"{'yes' if op.dali_gpu else 'no'} |"
        )
    return "\n".join(lines) + "\n\n" + "\n".join(render_audio_op(op) for op in ops)


def render_operators_md() -> str:
    everything = sorted(registered_ops().values(), key=lambda op: op.name)
    ops = [op for op in everything if op.modality == "image"]
    audio = [op for op in everything if op.modality == "audio"]
    header = [
        "# Operators",
        "",
        "<!-- Generated by `python -m dali_pipelines.ops.docs` from the op registry; "
        "do not edit by hand. -->",
        "",
        "Every op has a pydantic params model (its spec entry is `{op: <name>, ...}`), a shape "
        "rule checked before anything runs, a DALI builder and the torchvision v2 transform it "
        "reproduces. Random parameters are drawn in Python per sample, so the DALI graph and "
        "the torch path (the reference backend, each op's `apply_torch`) apply exactly the same "
        "ones. Sizes are (height, width) unless a param says otherwise. Tolerances are measured "
        "DALI vs torchvision on uint8 images (0-255 scale) unless stated. The stated bound is "
        "the op's `bounds`: max and mean absolute difference on uint8 outputs (0-255) and max "
        "on float outputs (their own units), DALI vs the reference backend on the same draws; "
        "tests/backends/test_reference.py checks it end to end on every case of the op table "
        "(a chain is held to the largest bound of its ops), and the measured row is what that "
        'test found. GPU builders use the same operators with `device="gpu"`; this page\'s '
        "figures were measured on the CPU backend.",
        "",
        "| op | torchvision | random | CPU | GPU |",
        "|---|---|---|---|---|",
    ]
    for op in ops:
        header.append(
            f"| [`{op.name}`](#{op.name}) | `{op.torchvision_name}` | "
            f"{'yes' if op.random else 'no'} | {'yes' if op.dali_cpu else 'no'} | "
            f"{'yes' if op.dali_gpu else 'no'} |"
        )
    text = "\n".join(header) + "\n\n" + "\n".join(render_op(op) for op in ops)
    return text + ("\n" + render_audio_section(audio) if audio else "")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m dali_pipelines.ops.docs", description="regenerate docs/operators.md"
    )
    parser.add_argument("path", nargs="?", type=Path, default=DOC_PATH, help="where to write")
    path: Path = parser.parse_args(sys.argv[1:] if argv is None else argv).path
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_operators_md(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
