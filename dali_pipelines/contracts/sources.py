"""The tensors of a spec with a ``source`` section: every declared output, in order.

Images follow the classic rule (fixed dims where the plan knows them); an image output whose
size varies is padded (symbols ``H``/``W`` plus ``<name>_sizes`` (N, 2)) or a list; features
are float32 (N, D); boxes are float32 (N, K, 4) in pixels of their image, with int64 classes
(N, K) (-1 in padding rows) and counts (N,), or lists of (K, 4) and (K,) per sample.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ..plan import Plan
from ..spec.models import OutputSpec
from .infer import BATCH, DeviceName, _device, images_spec, labels_spec
from .model import Dim, TensorShape, TensorSpec


def _suffix(position: int, name: str) -> str:
    # The first output keeps the plain symbols (H, W, D, K); later ones get their name.
    return "" if position == 0 else f"_{name}"


def source_tensors(
    plan: Plan,
    output: OutputSpec,
    device: DeviceName,
    labels_device: DeviceName,
    num_classes: int | None = None,
) -> Iterator[TensorSpec]:
    layout = plan.layout
    where = _device(device)
    n = Dim.symbol(BATCH)
    state = plan.output
    for slot in layout.slots:
        if slot.kind in ("audio", "lengths"):
            yield audio_tensor(plan, slot.kind, slot.name, slot.varying, where)
        elif slot.kind == "image":
            image = images_spec(state, output, device, slot.name, _suffix(slot.ref, slot.name))
            if slot.varying == "list":
                image = image.model_copy(update={"container": "list", "memory_format": "any"})
            elif slot.varying == "pad":
                image = image.model_copy(update={"memory_format": "contiguous"})
            yield image
        elif slot.kind == "image_sizes":
            yield TensorSpec(
                name=slot.name,
                dims=(n, Dim.fixed(2)),
                dtype="int64",
                device=where,
                memory_format="contiguous",
                value_range=(1.0, float(2**31 - 1)),
            )
        elif slot.kind == "label":
            classes = num_classes if slot.ref == 0 else _classes(layout.labels[slot.ref].classes)
            yield labels_spec(labels_device, classes, slot.name)
        elif slot.kind == "features":
            width = len(layout.features[slot.ref].columns)
            yield TensorSpec(
                name=slot.name,
                dims=(n, Dim.fixed(width, "D" + _suffix(slot.ref, slot.name))),
                dtype="float32",
                layout=None,
                device=where,
                memory_format="contiguous",
            )
        else:
            yield _box_tensor(slot.kind, slot.name, slot.varying, plan, where, num_classes)


def audio_tensor(
    plan: Plan, kind: str, name: str, varying: str | None, device: Literal["cpu", "cuda"]
) -> TensorSpec:
    """An audio spec's ``audio`` (N, C, T) wave or (N, F, T) features, or its ``lengths`` (N,):
    samples (frames for features) of each item before padding, at most T."""
    state = plan.output
    time = Dim.symbol("T") if state.length is None else Dim.fixed(state.length, "T")
    listed = varying == "list"
    if kind == "lengths":
        # Bound by the padded T (a symbol), or by the fixed length itself.
        top = float(state.length) if state.length is not None else float(2**31 - 1)
        return TensorSpec(
            name=name,
            dims=(Dim.symbol(BATCH),),
            dtype="int64",
            layout="N",
            device=device,
            memory_format="contiguous",
            value_range=(0.0, top),
            at_most="T" if state.length is None and not listed else None,
        )
    rows = Dim.fixed(state.rows, "C" if state.is_wave else "F")
    return TensorSpec(
        name=name,
        dims=(Dim.symbol(BATCH), rows, time),
        dtype=state.dtype,
        layout="NCT" if state.is_wave else "NFT",
        device=device,
        memory_format="any" if listed else "contiguous",
        value_range=state.value_range,
        container="list" if listed else "tensor",
    )


def _classes(names: tuple[str, ...] | None) -> int | None:
    return len(names) if names else None


def _box_tensor(
    kind: str,
    name: str,
    varying: str | None,
    plan: Plan,
    device: Literal["cpu", "cuda"],
    num_classes: int | None,
) -> TensorSpec:
    n, k = Dim.symbol(BATCH), Dim.symbol("K")
    listed = varying == "list"
    container: Literal["tensor", "list"] = "list" if listed else "tensor"
    memory: Literal["any", "contiguous"] = "any" if listed else "contiguous"
    if kind == "counts":
        return TensorSpec(
            name=name,
            dims=(n,),
            dtype="int64",
            layout="N",
            device=device,
            memory_format="contiguous",
            value_range=(0, 2**31),
        )
    if kind == "box_labels":
        top = float(num_classes - 1) if num_classes else float(2**31)
        return TensorSpec(
            name=name,
            dims=(n, k),
            dtype="int64",
            device=device,
            memory_format=memory,
            value_range=(-1.0, top),
            container=container,
        )
    size = plan.output.fixed_size
    # Boxes are clamped to their image, so coordinates lie in [0, the longer side].
    bound = (0.0, float(max(size))) if size is not None else None
    return TensorSpec.from_shape(
        TensorShape.BOXES_N_K_4,
        name,
        "float32",
        device=device,
        memory_format=memory,
        value_range=bound,
        container=container,
    )
