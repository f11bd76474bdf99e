"""Static inference: the contract of a spec's output, from the planner's folded op states.

Nothing runs and neither DALI nor torch is imported: :func:`~dali_pipelines.plan.make_plan`
folds every op's shape rule (dims, dtype, value range) and rejects an impossible chain with a
:class:`SpecError` naming the op index; this module turns the final per-image state into the
batch the loader yields.
"""

from __future__ import annotations

from typing import Literal

from ..errors import SpecError
from ..ops.state import ImageState
from ..plan import make_plan
from ..spec.io import SpecLike, load_spec
from ..spec.models import OutputSpec
from .model import BatchContract, Dim, TensorSpec

DeviceName = Literal["cpu", "gpu", "cuda"]

#: The batch symbol, shared by every tensor of a loader's batch.
BATCH = "N"


def _device(device: str) -> Literal["cpu", "cuda"]:
    # DALI says "gpu", torch says "cuda": accept both, contracts speak torch.
    if device == "cpu":
        return "cpu"
    if device in ("gpu", "cuda"):
        return "cuda"
    raise SpecError(f"device: expected cpu, gpu or cuda, got {device!r}")


def images_spec(
    state: ImageState,
    output: OutputSpec,
    device: DeviceName = "cpu",
    name: str = "images",
    suffix: str = "",
) -> TensorSpec:
    """The ``images`` tensor for per-image ``state`` batched as ``output`` says.

    ``suffix`` keeps the H and W symbols of a second image output apart from the first's.
    """
    if output.layout == "HWC" and output.memory_format == "channels_last":
        # channels_last is a memory order of an NCHW tensor; an NHWC tensor has no such variant.
        raise SpecError(
            "output.memory_format: expected contiguous with layout HWC, got channels_last"
        )
    sizes = {
        "C": Dim.fixed(state.channels, "C"),
        "H": Dim.symbol("H" + suffix) if state.height is None else Dim.fixed(state.height, "H"),
        "W": Dim.symbol("W" + suffix) if state.width is None else Dim.fixed(state.width, "W"),
    }
    layout = "N" + output.layout
    return TensorSpec(
        name=name,
        dims=(Dim.symbol(BATCH), *(sizes[axis] for axis in output.layout)),
        dtype=state.dtype,
        layout=layout,
        device=_device(device),
        memory_format=output.memory_format,
        value_range=state.value_range,
    )


def labels_spec(
    device: DeviceName = "cpu", num_classes: int | None = None, name: str = "labels"
) -> TensorSpec:
    """The ``labels`` tensor: one int64 class index per image (what cross-entropy takes)."""
    if num_classes is not None and num_classes < 1:
        raise SpecError(f"num_classes: expected >= 1, got {num_classes}")
    return TensorSpec(
        name=name,
        dims=(Dim.symbol(BATCH),),
        dtype="int64",
        layout="N",
        device=_device(device),
        memory_format="contiguous",
        value_range=None if num_classes is None else (0.0, float(num_classes - 1)),
    )


def infer_contract(
    spec: SpecLike,
    *,
    device: DeviceName = "cpu",
    labels_device: DeviceName | None = None,
    num_classes: int | None = None,
) -> BatchContract:
    """The contract of what a loader over ``spec`` yields: ``(images, labels)`` classically,
    or every output of the spec's ``source`` in declared order.

    ``spec`` is anything :func:`load_spec` takes (a strategy name, a file, a dict, a spec).
    Image dims are fixed where the plan knows them and symbols (``H``, ``W``) where they vary
    per sample; ``N`` binds the images to the labels. ``labels_device`` defaults to ``device``
    (the loader hands both to the model's device). ``num_classes`` adds the labels' range (and
    the box classes'). Raises :class:`SpecError` for an impossible spec, naming the op index
    and field.
    """
    from .sources import source_tensors  # it builds on this module's tensor specs

    loaded = load_spec(spec)
    plan = make_plan(loaded)
    return BatchContract(
        name=loaded.name,
        tensors=tuple(
            source_tensors(
                plan, loaded.output, device, labels_device or device, num_classes=num_classes
            )
        ),
    )
