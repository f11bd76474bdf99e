"""Contracts used across the tests, and the plugin when the package is not installed."""

from __future__ import annotations

import pytest

from dali_pipelines.contracts import BatchContract, TensorShape, TensorSpec
from dali_pipelines.contracts import pytest_plugin as plugin


def pytest_configure(config: pytest.Config) -> None:
    # Installed, the pytest11 entry point has registered the plugin already; from a bare
    # checkout it has not. Registering it twice would be an error, so register only if missing.
    if not config.pluginmanager.is_registered(plugin):
        config.pluginmanager.register(plugin, "dali_pipelines")
    if not config.pluginmanager.has_plugin("pytester"):
        config.pluginmanager.import_plugin("pytester")


def image_contract(**images: object) -> BatchContract:
    """images (N, C=3, H=4, W=5) float32 in [0, 1] + labels (N) int64, both on the CPU."""
    fields: dict[str, object] = {"C": 3, "H": 4, "W": 5, "value_range": (0.0, 1.0)}
    fields.update(images)
    dtype = fields.pop("dtype", "float32")
    return BatchContract(
        name="small",
        tensors=(
            TensorSpec.from_shape(TensorShape.IMAGE_NCHW, "images", dtype, **fields),  # type: ignore[arg-type]
            TensorSpec.from_shape(TensorShape.LABELS_N, "labels", "int64"),
        ),
    )


@pytest.fixture
def small() -> BatchContract:
    return image_contract()
