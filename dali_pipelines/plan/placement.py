"""Where each step of a plan runs: DALI, a Python stage (inline or in workers), or torch.

Two ways to run a Python stage, chosen per plan:

* **inline**: DALI's ``fn.python_function`` inside the one DALI graph. No copies and no extra
  processes, but it holds the GIL, so the stage runs on one core at a time. Only for numpy ops
  (pure functions of the image and their ``rng``) on a CPU graph: torchvision-style stages need
  the global RNGs seeded per sample, which from a DALI thread could disturb the training loop's
  own draws.
* **workers**: the graph is split. A DALI segment (decode and the ops before the stage) yields
  the images; worker processes run the stage and the per-sample ops after it (torch); a tail of
  batchable ops (normalize, dtype, flips with per-sample flags, fixed crops) runs in torch: on
  CPU inside the workers, each writing its rows of a shared output batch; on a GPU batched on
  the device.

``auto`` picks inline for numpy ops and workers otherwise, or when the op declares a cost per
image from :data:`WORKERS_FROM_MS` up. Measured on 2 cores (docs/hybrid.md): inline is faster
for a cheap op (no copies, no processes), workers win once a GIL-holding stage costs a few ms
per image. The choice is static (never timed at run time), so a run's numbers do not depend on
how busy the machine was.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ..errors import SpecError
from ..ops.python.op import PythonParams, declared
from ..ops.python.registry import get_python_op
from .planner import Plan, Step

Where = Literal[
    "dali-cpu", "dali-gpu", "python-inline", "python-workers", "torch-workers", "torch-batch"
]
Mode = Literal["dali", "inline", "workers"]
PythonPlacement = Literal["auto", "inline", "workers"]

#: Declared Python time per image from which ``auto`` runs a numpy op in workers. Measured on 2
#: cores (docs/hybrid.md): a cheap op kept 0.95 of the throughput inline and 0.62 in workers;
#: a 2 ms GIL-holding op ran about even; at 5 ms workers gave 1.5x inline's throughput.
WORKERS_FROM_MS = 2.0

WHERE_TEXT = {
    "dali-cpu": "DALI CPU",
    "dali-gpu": "DALI GPU",
    "python-inline": "Python per-sample (DALI python_function)",
    "python-workers": "Python per-sample (worker processes)",
    "torch-workers": "torch per-sample (worker processes)",
    "torch-batch": "torch batch (CPU: in the workers; GPU: on the device)",
}

SHORT_TEXT = {
    "dali-cpu": "DALI CPU",
    "dali-gpu": "DALI GPU",
    "python-inline": "Python inline",
    "python-workers": "Python workers",
    "torch-workers": "torch workers",
    "torch-batch": "torch batch",
}


@dataclass(frozen=True)
class StepPlace:
    index: int
    label: str
    where: Where
    #: The DALI operator, or why the step runs where it does.
    detail: str


@dataclass(frozen=True)
class Placement:
    mode: Mode
    steps: tuple[StepPlace, ...]
    #: First step run outside the DALI graph (workers mode); ``len(steps)`` otherwise.
    split: int
    #: First step of the batched torch tail (workers mode); ``len(steps)`` when there is none.
    tail: int

    def segments(self) -> list[tuple[str, list[int]]]:
        """Consecutive steps grouped by where they run: [("DALI CPU", [0, 1]), ...]."""
        out: list[tuple[str, list[int]]] = []
        for step in self.steps:
            kind = SHORT_TEXT[step.where]
            if out and out[-1][0] == kind:
                out[-1][1].append(step.index)
            else:
                out.append((kind, [step.index]))
        return out


def python_label(step: Step) -> str:
    return f"python:{step.params.name}" if isinstance(step.params, PythonParams) else step.op.name


def _inline_ok(step: Step, steps: tuple[Step, ...], device: str) -> str | None:
    """``None`` when the Python step can run inline; otherwise the reason it cannot."""
    assert isinstance(step.params, PythonParams)
    accepts, rule, forced = declared(step.params)
    if device != "cpu":
        return "python_function needs CPU data: the stage runs in workers between GPU segments"
    if forced == "workers":
        return "registered with placement='workers'"
    cost = None if step.params.in_process else get_python_op(step.params.name).cost_ms
    if forced == "auto" and cost is not None and cost >= WORKERS_FROM_MS:
        return (
            f"declared {cost:g} ms per image >= {WORKERS_FROM_MS:g} ms: worker processes beat "
            "the GIL-bound python_function there (measured, docs/hybrid.md)"
        )
    if forced != "inline" and accepts != "numpy":
        return (
            "torchvision-style (draws from the global RNGs): seeded per sample in worker "
            "processes, away from the training loop's RNG"
        )
    if rule.size == "varies":
        # An op drawing from its input's size would draw wrong after a stage of unknown size.
        later = [s.op.name for s in steps[step.index + 1 :] if not s.op.size_free]
        if later:
            return f"output size varies: {later[0]} after it must draw with the real size"
    return None


def place(plan: Plan, device: str = "cpu", python: PythonPlacement = "auto") -> Placement:
    """Decide where every step of ``plan`` runs on ``device`` ("cpu" or "gpu")."""
    if python not in ("auto", "inline", "workers"):
        raise SpecError(f"python_placement: expected 'auto', 'inline' or 'workers', got {python!r}")
    steps = plan.steps
    dali: Where = "dali-gpu" if device == "gpu" else "dali-cpu"
    reasons: dict[int, str | None] = {}
    no_dali: dict[int, str] = {}  # spec ops without a DALI builder for these params
    for step in steps:
        if isinstance(step.params, PythonParams):
            reason = _inline_ok(step, steps, device)
            if python == "workers":
                reason = reason or "python_placement='workers'"
            elif python == "inline" and reason is not None and device == "cpu":
                reason = None  # the user asked for it (global RNG seeding in a DALI thread)
            reasons[step.index] = reason
        else:
            why = step.op.dali_supported(step.params, device)
            if why is not None:
                no_dali[step.index] = why
    outside = [i for i, r in reasons.items() if r is not None] + list(no_dali)
    split = min(outside, default=len(steps))
    if split < len(steps):
        mode: Mode = "workers"
    else:
        mode = "inline" if reasons else "dali"
    tail = len(steps)
    if mode == "workers":
        tail = _tail_start(steps, split)
    placed = []
    for step in steps:
        label = python_label(step)
        if step.index < split:
            if step.index in reasons:
                placed.append(StepPlace(step.index, label, "python-inline", "fn.python_function"))
            else:
                placed.append(StepPlace(step.index, label, dali, step.op.dali_operator))
        elif step.index >= tail:
            placed.append(StepPlace(step.index, label, "torch-batch", _batch_text(step)))
        elif step.index in reasons:
            why = reasons[step.index] or "after a stage that runs in workers"
            placed.append(StepPlace(step.index, label, "python-workers", why))
        elif step.index in no_dali:
            placed.append(StepPlace(step.index, label, "torch-workers", no_dali[step.index]))
        else:
            placed.append(
                StepPlace(
                    step.index,
                    label,
                    "torch-workers",
                    "after a Python stage; draws from the image's real size",
                )
            )
    return Placement(mode=mode, steps=tuple(placed), split=split, tail=tail)


def _tail_start(steps: tuple[Step, ...], split: int) -> int:
    """The longest suffix after ``split`` of batchable ops whose input has a fixed size."""
    tail = len(steps)
    for step in reversed(steps[split + 1 :]):
        if not step.op.batchable or step.state_in.fixed_size is None:
            break
        tail = step.index
    return tail


def _batch_text(step: Step) -> str:
    if step.op.random:  # a batchable op that draws: per-sample flags (the flips)
        return "per-sample flags drawn in Python"
    return "deterministic for same-size inputs"
