"""``LoaderDataModule``: a Lightning ``LightningDataModule`` over this package's loaders.

Importable only where Lightning is installed (``pip install lightning``); nothing else in the
package imports it. Lightning itself saves and restores a training loader's position: its fit
loop calls ``loader.state_dict()`` into each checkpoint and, on resume, ``load_state_dict()``
then ``sampler.set_epoch(epoch)`` for the epoch the state is in, which keeps the restored
position (``DataLoader.set_epoch``), so a run resumed mid-epoch trains exactly the batches the
interrupted run had left (tested against an uninterrupted run in
tests/adversarial/test_loader.py).

The module builds each loader once, on Lightning's first request, filling in what the trainer
knows (its device, global rank and world size) unless given, reuses it across epochs, and
closes it in ``teardown``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Literal

try:
    import lightning.pytorch as pl
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "dali_pipelines.loader.lightning needs Lightning (pip install lightning)"
    ) from exc

from ..errors import LoaderConfigError
from .dataloader import DataLoader

Stage = Literal["train", "val", "test", "predict"]
#: ``DataLoader`` keyword arguments (``dataset`` and ``spec`` included), or a factory.
LoaderArgs = Mapping[str, Any] | Callable[[], DataLoader]
#: Which loaders each of Lightning's ``teardown`` stages closes.
_TEARDOWN: dict[str | None, tuple[Stage, ...]] = {
    "fit": ("train", "val"),
    "validate": ("val",),
    "test": ("test",),
    "predict": ("predict",),
    None: ("train", "val", "test", "predict"),
}


class LoaderDataModule(pl.LightningDataModule):
    """Lightning data module: ``LoaderDataModule(train={...}, val={...})``.

    Each of ``train``, ``val``, ``test`` and ``predict`` is a dict of ``DataLoader`` keyword
    arguments (``{"dataset": ImageFolder("train"), "spec": "imagenet_train", "batch_size":
    64, "shuffle": True, "seed": 0}``) or a zero-argument callable returning a loader. From a
    dict, ``device`` defaults to the trainer's root device and ``rank``/``world_size`` to its
    global rank and world size. A stage given nothing has no loader (Lightning skips it).
    """

    def __init__(
        self,
        train: LoaderArgs | None = None,
        val: LoaderArgs | None = None,
        test: LoaderArgs | None = None,
        predict: LoaderArgs | None = None,
    ) -> None:
        super().__init__()
        self._args: dict[Stage, LoaderArgs | None] = {
            "train": train,
            "val": val,
            "test": test,
            "predict": predict,
        }
        for stage, args in self._args.items():
            if args is not None and not (isinstance(args, Mapping) or callable(args)):
                raise LoaderConfigError(
                    f"{stage}: expected a dict of DataLoader arguments or a callable returning "
                    f"a DataLoader, got {type(args).__name__}"
                )
            if args is None:  # Lightning skips a hook the module does not override
                name = f"{stage}_dataloader"
                setattr(self, name, getattr(pl.LightningDataModule, name).__get__(self))
        self._loaders: dict[Stage, DataLoader] = {}

    def loader(self, stage: Stage) -> DataLoader:
        """The stage's loader, built on first use and reused afterwards."""
        if stage in self._loaders:
            return self._loaders[stage]
        args = self._args[stage]
        if args is None:
            raise LoaderConfigError(f"{stage}: expected a loader for this stage, got None")
        if isinstance(args, Mapping):
            loader = DataLoader(**{**self._from_trainer(), **args})
        else:
            loader = args()
            if not isinstance(loader, DataLoader):
                raise LoaderConfigError(
                    f"{stage}: expected the callable to return a DataLoader, got "
                    f"{type(loader).__name__}"
                )
        self._loaders[stage] = loader
        return loader

    def _from_trainer(self) -> dict[str, Any]:
        trainer = self.trainer
        if trainer is None:
            return {}
        return {
            "device": trainer.strategy.root_device,
            "rank": trainer.global_rank,
            "world_size": trainer.world_size,
        }

    def train_dataloader(self) -> DataLoader:
        return self.loader("train")

    def val_dataloader(self) -> DataLoader:
        return self.loader("val")

    def test_dataloader(self) -> DataLoader:
        return self.loader("test")

    def predict_dataloader(self) -> DataLoader:
        return self.loader("predict")

    def teardown(self, stage: str | None = None) -> None:
        """Close the loaders of ``stage`` (all of them for ``None``)."""
        for name in _TEARDOWN.get(stage, ()):
            loader = self._loaders.pop(name, None)
            if loader is not None:
                loader.close()
