"""The contenders, by name: how each loader is built from (dataset, spec, config).

Every loader gets the same CPU budget: ``config.threads`` DALI threads, or as many torch
DataLoader workers (persistent, as a training job has them after its first epoch). A new
contender is one :func:`register_loader` call; it is then accepted by ``--loaders``. Each
contender names the modalities it can read: torchvision's decoders read images only, length
bucketing needs durations (audio only).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from ..data.source import SampleSource
from ..spec import PipelineSpec
from .report import BASELINE_LOADER, DALI_LOADER, BenchConfig

Modality = Literal["image", "audio"]
BOTH: frozenset[Modality] = frozenset(("image", "audio"))
IMAGE_ONLY: frozenset[Modality] = frozenset(("image",))
AUDIO_ONLY: frozenset[Modality] = frozenset(("audio",))

#: Builds a loader (anything iterable over batches, ideally with len/set_epoch/close).
LoaderFactory = Callable[[SampleSource, PipelineSpec, BenchConfig], Any]


@dataclass(frozen=True)
class LoaderChoice:
    name: str
    backend: str  # what the report records as the backend
    build: LoaderFactory
    #: "cpu" pins the loader to the CPU whatever --device says (the CPU DALI on a GPU machine).
    device: str | None = None
    modalities: frozenset[Modality] = BOTH


LOADERS: dict[str, LoaderChoice] = {}
#: Measured when a GPU is used: DALI's CPU pipeline next to its GPU one.
DALI_CPU_LOADER = "dali-cpu"
TVIO_LOADER = "reference-tvio"
#: The headline loaders with length bucketing: what ``config.bucketing`` adds.
BUCKETED_LOADERS = (f"{DALI_LOADER}-bucketed", f"{BASELINE_LOADER}-bucketed")


def register_loader(
    name: str,
    backend: str,
    device: str | None = None,
    modalities: frozenset[Modality] = BOTH,
) -> Callable[[LoaderFactory], LoaderFactory]:
    """Decorator: make a loader factory available to the benchmark under ``name``."""

    def wrap(factory: LoaderFactory) -> LoaderFactory:
        if name in LOADERS:
            raise ValueError(f"bench loader {name!r} is already registered")
        LOADERS[name] = LoaderChoice(name, backend, factory, device, modalities)
        return factory

    return wrap


def resolved_device(device: str) -> str:
    """``auto`` is the GPU when CUDA is available, as the DataLoader decides it."""
    from ..availability import cuda_available

    if device == "gpu" or (device == "auto" and cuda_available()):
        return "gpu"
    return "cpu"


def loader_device(name: str, config: BenchConfig) -> str:
    return LOADERS[name].device or resolved_device(config.device)


def _dataloader(backend: str, device: str | None = None, bucketing: bool = False) -> LoaderFactory:
    def build(dataset: SampleSource, spec: PipelineSpec, config: BenchConfig) -> Any:
        from ..loader import DataLoader

        return DataLoader(
            dataset,
            spec,
            batch_size=config.batch_size,
            shuffle=config.shuffle,
            drop_last=config.drop_last,
            seed=config.seed,
            num_threads=config.threads,
            device=device or config.device,
            backend=backend,  # type: ignore[arg-type]
            bucketing=True if bucketing else None,
        )

    return build


register_loader(DALI_LOADER, "dali")(_dataloader("dali"))
register_loader(DALI_CPU_LOADER, "dali", device="cpu")(_dataloader("dali", "cpu"))
register_loader(BASELINE_LOADER, "reference")(_dataloader("reference"))
register_loader(TVIO_LOADER, "reference-tvio", modalities=IMAGE_ONLY)(_dataloader("reference-tvio"))
register_loader(BUCKETED_LOADERS[0], "dali", modalities=AUDIO_ONLY)(
    _dataloader("dali", bucketing=True)
)
register_loader(BUCKETED_LOADERS[1], "reference", modalities=AUDIO_ONLY)(
    _dataloader("reference", bucketing=True)
)


def loader_names(config: BenchConfig, modality: Modality = "image") -> list[str]:
    """The loaders to measure, headline ones first (see :func:`select_loaders`)."""
    return select_loaders(config, modality)[0]


def select_loaders(
    config: BenchConfig, modality: Modality = "image"
) -> tuple[list[str], list[str]]:
    """(loaders to measure, headline ones first; notes on those left out).

    ``dali-cpu`` joins when DALI uses a GPU, the bucketed loaders with ``config.bucketing``.
    Loaders that cannot read ``modality`` are left out with a note when ``config.loaders`` is
    the default list (it names image baselines), and refused when they were asked for.
    """
    names = list(dict.fromkeys(config.loaders))
    missing = [n for n in (DALI_LOADER, BASELINE_LOADER) if n not in names]
    if missing:
        raise ValueError(
            f"loaders: expected {DALI_LOADER!r} and {BASELINE_LOADER!r} among them (the report's "
            f"headline speedup), got {names}"
        )
    unknown = [n for n in names if n not in LOADERS]
    if unknown:
        raise ValueError(f"bench loaders: expected names in {sorted(LOADERS)}, got {unknown}")
    if config.bucketing:
        if modality != "audio":
            raise ValueError(
                "bucketing: expected an audio spec (length bucketing groups samples by "
                f"duration), got an {modality} spec"
            )
        names += [n for n in BUCKETED_LOADERS if n not in names]
    if resolved_device(config.device) == "gpu" and DALI_CPU_LOADER not in names:
        names.append(DALI_CPU_LOADER)
    names, notes = _for_modality(names, modality, asked=config.loaders != _default_loaders())
    rest = [n for n in names if n not in (DALI_LOADER, BASELINE_LOADER)]
    return [DALI_LOADER, BASELINE_LOADER, *rest], notes


def _default_loaders() -> list[str]:
    default: list[str] = BenchConfig.model_fields["loaders"].get_default(call_default_factory=True)
    return default


def _for_modality(names: list[str], modality: Modality, asked: bool) -> tuple[list[str], list[str]]:
    unfit = [n for n in names if modality not in LOADERS[n].modalities]
    if not unfit:
        return names, []
    listed = ", ".join(unfit)
    if asked:
        fit = sorted(n for n, choice in LOADERS.items() if modality in choice.modalities)
        raise ValueError(
            f"loaders: {listed} cannot read {modality} (an {modality} spec); expected names "
            f"in {fit}"
        )
    note = f"{listed} skipped: {'they read' if len(unfit) > 1 else 'it reads'} no {modality}"
    return [n for n in names if n not in unfit], [note]


TORCHVISION_LOADER = "torchvision"


class _TorchvisionSamples:
    """What a torchvision user runs: PIL decode + the spec as a torchvision v2 ``Compose``."""

    def __init__(self, dataset: SampleSource, transform: Any, color: str):
        self.dataset = dataset
        self.transform = transform
        self.color = color

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> tuple[Any, int]:
        from ..data.pil import decode_pil

        image = decode_pil(self.dataset.read_bytes(index), self.color)  # type: ignore[arg-type]
        return self.transform(image), self.dataset.label(index)


@register_loader(TORCHVISION_LOADER, "torchvision", modalities=IMAGE_ONLY)
def _torchvision(dataset: SampleSource, spec: PipelineSpec, config: BenchConfig) -> Any:
    """torch's own DataLoader over torchvision's transforms (random draws from torch's RNG):
    the baseline a torchvision user has, without our loader around it."""
    import torch
    from torch.utils.data import DataLoader as TorchDataLoader

    from ..backends.reference.oracle import build_transform
    from ..plan import make_plan

    plan = make_plan(spec)
    generator = torch.Generator()
    generator.manual_seed(config.seed)
    # A map-style dataset by protocol (len + getitem); torch's DataLoader needs nothing more.
    samples: Any = _TorchvisionSamples(dataset, build_transform(plan), spec.decode.color)
    return TorchDataLoader(
        samples,
        batch_size=config.batch_size,
        shuffle=config.shuffle,
        drop_last=config.drop_last,
        num_workers=config.threads,
        persistent_workers=config.threads > 0,
        generator=generator,
    )
