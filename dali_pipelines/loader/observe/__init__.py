"""Watching a loader's profile: a live panel, JSON lines, TensorBoard, a Chrome trace.

The loader's :class:`~dali_pipelines.backends.profile.Profile` (``loader.profile``) counts
where the time goes; this package shows and exports the same numbers
(docs/observability.md):

* :func:`chrome_trace` writes a detailed profile's spans as a Chrome trace (Perfetto,
  ``chrome://tracing``), one track per thread;
* :class:`JsonlExporter` and :class:`TensorBoardExporter` write the figures of the last batches
  every ``every`` batches, and each finished epoch's;
* :class:`LivePanel` redraws a ``rich`` table (terminal, notebook) or prints it now and then.

**The observer protocol.** An observer is any object with three methods, called on the
consumer's thread:

* ``batch_done(profile)``: after each batch handed out (after ``profile.batch_done``);
* ``epoch_done(profile, snapshot)``: after ``profile.end_epoch()`` returned ``snapshot``;
* ``close()``: once, when the loader (or the loop) is done.

:func:`attach` builds the observers asked for and returns them as one :class:`Observers`, the
object a loader calls (or a loop, through :meth:`Observers.epoch`, while the loader does not).
An observer that raises is logged and dropped: watching never stops the training. The two
exporters are also plain ``(profile) -> None`` callbacks after each batch.
"""

from __future__ import annotations

from .figures import Figures, figures
from .hub import Observer, Observers, attach
from .jsonl import JsonlExporter
from .live import LivePanel, render, render_text
from .tensorboard import TensorBoardExporter
from .trace import chrome_trace

__all__ = [
    "Figures",
    "JsonlExporter",
    "LivePanel",
    "Observer",
    "Observers",
    "TensorBoardExporter",
    "attach",
    "chrome_trace",
    "figures",
    "render",
    "render_text",
]
