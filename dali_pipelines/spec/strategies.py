"""Named augmentation strategies: ``register_strategy(name)`` over a function returning a spec."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from ..errors import RegistryError
from .messages import spec_error
from .models import PipelineSpec

_STRATEGIES: dict[str, Callable[[], PipelineSpec]] = {}

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def register_strategy(
    name: str,
) -> Callable[[Callable[[], PipelineSpec | dict[str, Any]]], Callable[[], PipelineSpec]]:
    """Decorator: register a zero-argument factory of a spec (or spec dict) under ``name``."""

    def wrap(factory: Callable[[], PipelineSpec | dict[str, Any]]) -> Callable[[], PipelineSpec]:
        if name in _STRATEGIES:
            raise RegistryError(f"strategy {name!r} is already registered")

        def build() -> PipelineSpec:
            made = factory()
            try:
                spec = made if isinstance(made, PipelineSpec) else PipelineSpec.model_validate(made)
            except ValidationError as exc:
                raise spec_error(exc, f"strategy {name}") from None
            return spec.model_copy(update={"name": name})

        build.__name__ = getattr(factory, "__name__", name)
        build.__doc__ = factory.__doc__
        _STRATEGIES[name] = build
        return build

    return wrap


def get_strategy(name: str) -> PipelineSpec:
    try:
        return _STRATEGIES[name]()
    except KeyError:
        known = ", ".join(sorted(_STRATEGIES))
        raise RegistryError(f"strategy: expected one of {known}, got {name!r}") from None


def registered_strategies() -> list[str]:
    return sorted(_STRATEGIES)


@register_strategy("imagenet_train")
def imagenet_train() -> dict[str, Any]:
    """The standard ImageNet training recipe: RandomResizedCrop 224, flip, normalize."""
    return {
        "ops": [
            {"op": "random_resized_crop", "size": [224, 224]},
            {"op": "horizontal_flip", "p": 0.5},
            {"op": "normalize", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        ]
    }


@register_strategy("imagenet_val")
def imagenet_val() -> dict[str, Any]:
    """The standard ImageNet evaluation recipe: resize 256, center crop 224, normalize."""
    return {
        "ops": [
            {"op": "resize", "size": 256},
            {"op": "center_crop", "size": [224, 224]},
            {"op": "normalize", "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
        ]
    }


@register_strategy("speech_fbank80")
def speech_fbank80() -> dict[str, Any]:
    """Speech recognition features: 16 kHz mono, 80 log-mel filter banks over 25 ms windows
    every 10 ms (Kaldi/NeMo/Whisper style), per-utterance normalization, SpecAugment (two
    frequency masks of up to 27 bins, two time masks of up to 40 frames / 5% of the utterance).
    """
    return {
        "audio": {"sample_rate": 16000},
        "ops": [
            {"op": "spectrogram", "n_fft": 512, "win_length": 400, "hop_length": 160},
            {"op": "mel_filter_bank", "n_mels": 80},
            {"op": "to_decibels"},
            {"op": "utterance_norm"},
            {"op": "freq_mask", "num_masks": 2, "max_width": 27, "p": 1.0},
            {"op": "time_mask", "num_masks": 2, "max_width": 40, "max_fraction": 0.05, "p": 1.0},
        ],
    }


@register_strategy("audio_mfcc")
def audio_mfcc() -> dict[str, Any]:
    """Audio classification features: 16 kHz mono clips cut or padded to 1 s (random offset),
    random gain, 40 MFCCs from 64 mel bands over 25 ms / 10 ms windows."""
    return {
        "audio": {"sample_rate": 16000},
        "ops": [
            {"op": "fix_duration", "seconds": 1.0, "position": "random"},
            {"op": "gain", "min_db": -6.0, "max_db": 6.0, "p": 0.5},
            {"op": "spectrogram", "n_fft": 512, "win_length": 400, "hop_length": 160},
            {"op": "mel_filter_bank", "n_mels": 64},
            {"op": "to_decibels"},
            {"op": "mfcc", "n_mfcc": 40},
        ],
    }
