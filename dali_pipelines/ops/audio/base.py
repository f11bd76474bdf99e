"""What an audio op is: the image op's faces (params, shape rule, draw, DALI builder, torch
reference) over an :class:`AudioState` instead of an image.

Conventions every audio op follows, so DALI and the reference apply the same numbers:

* **Samples.** A wave inside the DALI graph is ``(T,)`` when mono, ``(T, C)`` otherwise (what
  ``fn.decoders.audio`` gives); features are ``(F, T')`` (``fn.spectrogram``'s ``"ft"``). The
  reference works on torch ``(C, T)`` waves and ``(F, T')`` features, float32.
* **Sizes.** The seed policy's ``size`` of an audio sample is its 2-D extent: ``(C, T)`` of a
  wave, ``(F, T')`` of features. :meth:`AudioOp.draw_state` returns the size after the op
  (a resample or a speed change alters T), so later ops draw for the length they will see.
* **Randomness.** Every random number is drawn in :meth:`draw_state` from the seed policy's
  generator and handed to DALI as argument inputs (DALI's own RNG never runs), also noise: the
  noise op draws its samples in Python.
* **The reference** (:meth:`AudioOp.reference`) is an independent implementation: torch, scipy,
  soxr and librosa's mel basis, never DALI.

Audio ops declare the image traits as inert (no boxes, no batch form, no torchvision
transform): they exist in the same registry, so a spec names them like any op.
"""

from __future__ import annotations

import math
from abc import abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import numpy as np

from ...errors import RegistryError
from ..base import Args, BoxRule, Op, OpParams, Size
from ..state import AudioState, ChainError

if TYPE_CHECKING:  # pragma: no cover - typing only
    import torch

P = TypeVar("P", bound=OpParams)


def resampled_length(samples: int, in_rate: float, out_rate: float) -> int:
    """Samples after resampling ``samples`` from ``in_rate`` to ``out_rate``: DALI's rule
    (``ceil``, in double precision), verified here against ``fn.decoders.audio``."""
    return math.ceil(samples * float(out_rate) / float(in_rate))


def scaled_length(samples: int, scale: float) -> int:
    """Samples after ``fn.audio_resample(scale=...)``: ``ceil(T * scale)`` with the scale as the
    float32 DALI receives, widened to double (measured: 16000 * float32(1.1) -> 17601)."""
    return math.ceil(samples * float(np.float32(scale)))


def require_wave(state: AudioState, field: str = "input") -> None:
    """Raise :class:`ChainError` unless ``state`` is a wave."""
    if not state.is_wave:
        raise ChainError(field, "a wave (samples), before spectrogram", f"{state.kind} features")


def require_kind(state: AudioState, kinds: tuple[str, ...], field: str = "input") -> None:
    """Raise :class:`ChainError` unless ``state.kind`` is one of ``kinds``."""
    if state.kind not in kinds:
        raise ChainError(field, " or ".join(kinds), state.kind)


class AudioOp(Op[P]):
    """Base of the audio ops: subclasses set ``name``/``Params`` and implement ``infer``,
    ``build_dali`` and ``reference`` (and ``draw_state`` when random or length-changing)."""

    modality = "audio"
    # The image traits, declared inert: audio ops have no boxes, batch form, fused decode or
    # output, and stand for no torchvision transform.
    batchable: ClassVar[bool] = False
    size_free: ClassVar[bool] = False
    needs_sample_index: ClassVar[bool] = False
    box_rule: ClassVar[BoxRule] = "refuse"
    fuses_output: ClassVar[bool] = False
    fuses_decode: ClassVar[bool] = False
    torchvision_classes: ClassVar[tuple[str, ...]] = ()
    #: The reference's implementation, for docs (e.g. ``"torch.stft"``).
    reference_name: ClassVar[str] = ""

    def infer(self, p: P, state: Any) -> Any:
        """Shape rule over :class:`AudioState`; :class:`ChainError` for an impossible input."""
        return state

    def draw(self, p: P, size: Size, rng: np.random.Generator) -> tuple[Args, Size]:
        raise RegistryError(f"{self.name}: an audio op draws through draw_state (it needs a rate)")

    def draw_state(
        self, p: P, state: Any, size: Size, rng: np.random.Generator
    ) -> tuple[Args, Size]:
        """Per-sample arguments for an input of ``size`` ((C, T) or (F, T')) in ``state``, and
        the size after the op."""
        return {}, size

    # build_dali stays abstract (Op's): ``image`` is the audio DataNode (see the module's
    # conventions), ``ctx.state`` the op's input AudioState.

    @abstractmethod
    def reference(self, p: P, state: AudioState, x: torch.Tensor, args: Args) -> torch.Tensor:
        """The op on one torch sample ((C, T) wave or (F, T') features) in ``state``."""

    def apply_torch(self, p: P, image: torch.Tensor, args: Args) -> torch.Tensor:
        raise RegistryError(f"{self.name}: an audio op applies through reference (needs a state)")

    def torchvision(self, p: P) -> Any:
        raise RegistryError(f"{self.name}: an audio op has no torchvision transform")
