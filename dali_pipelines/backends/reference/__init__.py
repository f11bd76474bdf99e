"""The reference backend: the spec's ops in torch, on the same per-sample draws as DALI.

Each op's ``apply_torch`` runs on PIL- (or torchvision.io-) decoded images in torch
``DataLoader`` workers (:mod:`.executor`), with the arguments the seed policy draws for
(seed, epoch, index) (:mod:`.sample`): the parity oracle in tests, the baseline in benchmarks,
and the fallback where DALI is missing. It is deterministic and resumable, and equals DALI
within each op's stated bound (``Op.bounds``, docs/operators.md). torchvision's own transforms
are a test oracle only (:mod:`.oracle`).
"""

from __future__ import annotations

from .oracle import build_transform
from .sample import ReferenceSample, SampleOutput, TorchChain

__all__ = ["ReferenceSample", "SampleOutput", "TorchChain", "build_transform"]
