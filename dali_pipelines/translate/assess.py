"""``assess``: where each transform of a torchvision Compose will run, and why.

For every transform: the spec op it became, where the planner places it (DALI CPU/GPU, Python
per-sample inline or in workers, torch batch), the DALI operator or the reason it stays in
Python, and how the DALI op computes differently from torchvision; then the segments the plan
forms (``DALI CPU [0-1] -> Python workers [2] -> torch batch [3-4]``).
"""

from __future__ import annotations

import importlib
import inspect
from dataclasses import asdict, dataclass, field
from typing import Any

from ..ops.base import Op
from ..plan import make_plan
from ..plan.placement import SHORT_TEXT, WHERE_TEXT, Placement, PythonPlacement, place
from ..spec.models import PipelineSpec
from .torchvision import Record, translate


@dataclass(frozen=True)
class Row:
    position: int | None  # the transform's index in the Compose (None: decode)
    transform: str
    op: str
    where: str
    detail: str
    differs: str = ""


@dataclass(frozen=True)
class Assessment:
    rows: tuple[Row, ...]
    #: (where, [transform positions]) in order: the segments the plan forms.
    segments: tuple[tuple[str, tuple[int, ...]], ...]
    mode: str
    device: str
    strict: bool
    spec: PipelineSpec = field(repr=False)

    def segments_text(self) -> str:
        parts = []
        for kind, positions in self.segments:
            if not positions:
                parts.append(kind)
            elif len(positions) == 1 or list(positions) == list(
                range(positions[0], positions[-1] + 1)
            ):
                span = (
                    f"{positions[0]}" if len(positions) == 1 else f"{positions[0]}-{positions[-1]}"
                )
                parts.append(f"{kind} [{span}]")
            else:
                parts.append(f"{kind} {list(positions)}")
        return " -> ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "device": self.device,
            "strict": self.strict,
            "mode": self.mode,
            "rows": [asdict(r) for r in self.rows],
            "segments": [{"where": k, "transforms": list(p)} for k, p in self.segments],
            "segments_text": self.segments_text(),
        }


def resolve(target: str) -> Any:
    """``MODULE:ATTR`` (ATTR may be dotted) -> the object; a zero-argument factory is called."""
    module_name, sep, attr = target.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"target: expected MODULE:ATTR, got {target!r}")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return call_factory(obj)


def call_factory(obj: Any) -> Any:
    if hasattr(obj, "transforms") or type(obj).__module__.startswith("torchvision"):
        return obj
    if inspect.isfunction(obj) or inspect.ismethod(obj):
        params = inspect.signature(obj).parameters.values()
        if all(
            p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in params
        ):
            return obj()  # a factory: build the Compose it returns
    return obj


def assess(
    transform: Any,
    *,
    strict: bool = False,
    device: str = "cpu",
    python_placement: PythonPlacement = "auto",
) -> Assessment:
    """Translate ``transform`` (a Compose, a list, a transform or a factory) and place it."""
    translation = translate(call_factory(transform), strict=strict)
    plan = make_plan(translation.spec)
    placement = place(plan, device, python_placement)
    rows = [_decode_row(placement, plan.steps[0].op if plan.steps else None, device)]
    for record in translation.records:
        rows += _rows(record, placement)
    return Assessment(
        rows=tuple(rows),
        segments=_segments(translation.records, placement, device),
        mode=placement.mode,
        device=device,
        strict=strict,
        spec=translation.spec,
    )


def _decode_row(placement: Placement, first: Op[Any] | None, device: str) -> Row:
    where = "DALI GPU (nvJPEG)" if device == "gpu" else "DALI CPU"
    first_dali = placement.steps and placement.steps[0].where.startswith("dali")
    detail = "fn.decoders.image"
    if first is not None and first.fuses_decode and first_dali:
        detail = f"fn.decoders.image_slice: only the {first.name} window (ROI decode)"
    return Row(None, "(decode)", "decode", where, detail)


def _rows(record: Record, placement: Placement) -> list[Row]:
    if not record.ops:
        detail = "no-op: the pixels are uint8 already (later Python stages get tensors)"
        return [Row(record.position, record.transform, "-", "nothing to run", detail)]
    rows = []
    for index in record.ops:
        step = placement.steps[index]
        where = WHERE_TEXT[step.where]
        detail = step.detail
        if record.status == "python":
            detail = "; ".join(x for x in (record.note, step.detail) if x)
        differs = record.note if record.status != "python" else ""
        rows.append(Row(record.position, record.transform, step.label, where, detail, differs))
    return rows


def _segments(
    records: tuple[Record, ...], placement: Placement, device: str
) -> tuple[tuple[str, tuple[int, ...]], ...]:
    """Transform positions grouped by where they run; a no-op joins the segment before it."""
    out: list[tuple[str, list[int]]] = [("DALI GPU" if device == "gpu" else "DALI CPU", [])]
    for record in records:
        kinds = [SHORT_TEXT[placement.steps[i].where] for i in record.ops] or [out[-1][0]]
        for kind in kinds:
            if out[-1][0] != kind:
                out.append((kind, []))
            if record.position not in out[-1][1]:
                out[-1][1].append(record.position)
    return tuple((k, tuple(p)) for k, p in out)
