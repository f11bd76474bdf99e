"""Adversarial probes of the loader (issue 12, items 5-7), kept so they stay fixed.

5. Resume states: nonsense is refused naming the field; Lightning resumes the right batches.
6. One loader, two iterators or two threads: a clear error, never mixed or truncated data.
7. Python stages: a wrong output size is caught in every placement; KeyboardInterrupt and
   SystemExit stay themselves with the op, sample and file attached; a stage that never returns
   (or a stopped worker) ends in a PythonStageError after ``timeout``.

Probes that could hang or take the process down run in a child under a memory and a time limit
(:func:`tests.adversarial.limits.run_limited`).
"""

from __future__ import annotations

import contextlib
import json
import re
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from dali_pipelines import DataLoader, ImageFolder, register_python_op
from dali_pipelines.errors import (
    DaliPipelinesError,
    LoaderConfigError,
    LoaderStateError,
    PythonStageError,
)
from tests.adversarial.limits import run_limited

pytestmark = pytest.mark.integration

#: Deterministic per sample: an image's pixel sum identifies the sample.
FIXED = {"ops": [{"op": "resize", "size": [16, 16]}], "output": {"dtype": "uint8"}}
#: 21 samples in batches of 4: 6 batches, the last of 1.
LEN = 6


def _loader(folder: Path, **kwargs: Any) -> DataLoader:
    args: dict[str, Any] = {"batch_size": 4, "shuffle": True, "seed": 3, "num_threads": 1}
    return DataLoader(ImageFolder(folder), FIXED, **{**args, **kwargs})


def _ids(batch: Any) -> list[int]:
    """The samples of a batch, by pixel sum (FIXED resizes only)."""
    return [int(v) for v in batch[0].long().sum((1, 2, 3))]


def _epochs(folder: Path, count: int) -> list[list[list[int]]]:
    with _loader(folder) as loader:
        return [[_ids(b) for b in loader] for _ in range(count)]


# -- 5. resume states --------------------------------------------------------------------------
NONSENSE = [
    ({"batch": -1}, r"state\.batch: expected an int >= 0, got -1$"),
    ({"batch": 10**6}, r"state\.batch: expected an int <= 6 \(.*\), got 1000000$"),
    ({"batch": LEN + 1}, r"state\.batch: expected an int <= 6 \(.*\), got 7$"),
    ({"batch": 2.7}, r"state\.batch: expected an int >= 0, got 2\.7$"),
    ({"batch": 2.0}, r"state\.batch: expected an int >= 0, got 2\.0$"),
    ({"batch": True}, r"state\.batch: expected an int >= 0, got True$"),
    ({"batch": "2"}, r"state\.batch: expected an int >= 0, got '2'$"),
    ({"batch": None}, r"state\.batch: expected an int >= 0, got None$"),
    ({"epoch": -1}, r"state\.epoch: expected an int >= 0 and < 2\*\*63, got -1$"),
    (
        {"epoch": 2**63},
        r"state\.epoch: expected an int >= 0 and < 2\*\*63, got 92233720368547758",
    ),
    ({"epoch": [0]}, r"state\.epoch: expected an int >= 0 and < 2\*\*63, got \[0\]$"),
    ({"seed": "3"}, r"state\.seed: expected an int >= 0 and < 2\*\*63, got '3'$"),
    ({"shuffle": 1}, r"state\.shuffle: expected True or False, got 1$"),
    ({"spec": None}, r"state\.spec: expected a string, got None$"),
    ({"world_size": 0}, r"state\.world_size: expected an int >= 1, got 0$"),
    ({"surplus": 1}, r"state\.surplus: expected no such key"),
    ({"version": 3}, r"state\.version: expected 1 or 2, got 3$"),
    ({"version": 2.0}, r"state\.version: expected 1 or 2, got 2\.0$"),
    ({"version": 1}, r"state\.samples: expected no such key in a version 1 state$"),
    ({"samples": None}, r"state\.samples: expected an int >= 0, got None$"),
    ({"samples": -1}, r"state\.samples: expected an int >= 0, got -1$"),
    ({"samples": 1.5}, r"state\.samples: expected an int >= 0, got 1\.5$"),
    (
        {"samples": 4},
        r"state\.batch: expected 1 \(state\.samples // \(batch_size \* world_size\)\), got 0$",
    ),
    (
        {"samples": 10**6, "batch": 10**6 // 4},
        r"state\.batch: expected an int <= 6 \(.*\), got 250000$",
    ),
    (
        {"samples": 10**6, "world_size": 2},
        r"state\.samples: expected an int < dataset_size=\d+ \(an epoch in progress\), "
        r"got 1000000$",
    ),
    ({"spec": "0" * 16}, r"state\.spec: expected '[0-9a-f]+' \(this loader\), got '0{16}'$"),
]


@pytest.mark.parametrize(("change", "message"), NONSENSE, ids=lambda v: str(v)[:30])
def test_a_nonsense_state_is_refused_naming_the_field(
    jpeg_folder: Path, change: dict[str, Any], message: str
) -> None:
    with _loader(jpeg_folder) as loader:
        state = {**loader.state_dict(), **change}
        with pytest.raises(LoaderStateError, match=message):
            loader.load_state_dict(state)
        # Refused means unchanged: a whole epoch 0 still comes.
        assert (loader.epoch, len([_ids(b) for b in loader])) == (0, LEN)


@pytest.mark.parametrize(
    "key", ["version", "epoch", "batch", "samples", "seed", "spec", "drop_last"]
)
def test_a_missing_key_is_named(jpeg_folder: Path, key: str) -> None:
    with _loader(jpeg_folder) as loader:
        state = loader.state_dict()
        del state[key]
        with pytest.raises(LoaderStateError, match=rf"state\.{key}: expected .*, got nothing"):
            loader.load_state_dict(state)


@pytest.mark.parametrize("state", [None, [], "state", 3, b"\x00"])
def test_a_state_that_is_no_dict_is_refused(jpeg_folder: Path, state: Any) -> None:
    with (
        _loader(jpeg_folder) as loader,
        pytest.raises(LoaderStateError, match=r"^state: expected a dict from DataLoader\.state"),
    ):
        loader.load_state_dict(state)


def test_a_state_at_the_end_of_an_epoch_resumes_at_the_next(jpeg_folder: Path) -> None:
    epochs = _epochs(jpeg_folder, 2)
    with _loader(jpeg_folder) as loader:
        loader.load_state_dict({**loader.state_dict(), "epoch": 0, "batch": LEN})
        assert loader.epoch == 1
        assert [_ids(b) for b in loader] == epochs[1]


def test_set_epoch_of_the_restored_epoch_keeps_the_position(jpeg_folder: Path) -> None:
    epochs = _epochs(jpeg_folder, 2)
    with _loader(jpeg_folder) as first:
        batches = iter(first)
        next(batches), next(batches)
        state = first.state_dict()
    assert (state["epoch"], state["batch"]) == (0, 2)
    with _loader(jpeg_folder) as resumed:
        resumed.load_state_dict(state)
        batches = iter(resumed)  # Lightning: iter(), then set_epoch for the same epoch
        resumed.sampler.set_epoch(0)
        assert [_ids(b) for b in batches] == epochs[0][2:]
        resumed.sampler.set_epoch(1)
        assert [_ids(b) for b in resumed] == epochs[1]
    with _loader(jpeg_folder) as other:
        other.load_state_dict(state)
        other.set_epoch(1)  # another epoch: from its start
        assert [_ids(b) for b in other] == epochs[1]
        other.load_state_dict(state)
        other.set_epoch(1)
        other.set_epoch(0)  # the restored position was dropped by set_epoch(1)
        assert [_ids(b) for b in other] == epochs[0]


@pytest.mark.parametrize("epoch", [-1, 2.5, True, "1", None, 2**63])
def test_set_epoch_refuses_what_is_no_epoch(jpeg_folder: Path, epoch: Any) -> None:
    with _loader(jpeg_folder) as loader, pytest.raises(LoaderStateError, match=r"^epoch: expected"):
        loader.set_epoch(epoch)


def _lightning_run(
    folder: Path, checkpoint: Path, crash_at: int | None = None, resume: bool = False
) -> list[tuple[int, list[int]]]:
    """A real Lightning fit (2 epochs, CPU); the (epoch, samples) of every trained batch.

    ``crash_at``: save a checkpoint after that global step and crash; ``resume``: fit from it.
    """
    import lightning.pytorch as pl

    from dali_pipelines.loader.lightning import LoaderDataModule

    class Crash(Exception):
        pass

    class Tiny(pl.LightningModule):
        def __init__(self) -> None:
            super().__init__()
            self.net = torch.nn.Linear(3, 3)  # 3 classes

        def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
            x, y = batch
            return torch.nn.functional.cross_entropy(self.net(x.float().mean((2, 3))), y)

        def configure_optimizers(self) -> torch.optim.Optimizer:
            return torch.optim.SGD(self.parameters(), lr=0.01)

    seen: list[tuple[int, list[int]]] = []

    class Record(pl.Callback):
        def on_train_batch_start(self, trainer: Any, module: Any, batch: Any, i: int) -> None:
            seen.append((trainer.current_epoch, _ids(batch)))

        def on_train_batch_end(self, trainer: Any, module: Any, *args: Any) -> None:
            if trainer.global_step == crash_at:
                trainer.save_checkpoint(checkpoint)
                raise Crash

    train = {"dataset": ImageFolder(folder), "spec": FIXED, "batch_size": 4, "shuffle": True}
    data = LoaderDataModule(train={**train, "seed": 3, "num_threads": 1})
    trainer = pl.Trainer(
        max_epochs=2,
        accelerator="cpu",
        devices=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        callbacks=[Record()],
    )
    with contextlib.suppress(Crash):
        trainer.fit(Tiny(), datamodule=data, ckpt_path=checkpoint if resume else None)
    return seen


@pytest.mark.parametrize("crash_at", [2, LEN, LEN + 3])
def test_lightning_resumes_the_batches_the_interrupted_run_had_left(
    jpeg_folder: Path, tmp_path: Path, crash_at: int
) -> None:
    pytest.importorskip("lightning")
    checkpoint = tmp_path / "mid.ckpt"
    uninterrupted = _lightning_run(jpeg_folder, checkpoint)
    assert len(uninterrupted) == 2 * LEN
    before = _lightning_run(jpeg_folder, checkpoint, crash_at=crash_at)
    after = _lightning_run(jpeg_folder, checkpoint, resume=True)
    assert len(before) == crash_at
    assert before + after == uninterrupted  # no batch twice, none lost, the same epochs


# -- 6. two iterators, two threads -------------------------------------------------------------
def test_a_new_iter_ends_the_previous_iterator(jpeg_folder: Path) -> None:
    epochs = _epochs(jpeg_folder, 2)
    with _loader(jpeg_folder) as loader:
        first = iter(loader)
        assert _ids(next(first)) == epochs[0][0]
        second = iter(loader)  # the next epoch: epoch 0 was started
        with pytest.raises(DaliPipelinesError, match="ended by a later iter"):
            next(first)
        with pytest.raises(DaliPipelinesError, match="ended by a later iter"):
            next(first)  # and stays ended
        assert [_ids(b) for b in second] == epochs[1]
        with pytest.raises(StopIteration):
            next(second)
        unstarted = iter(loader)  # never advanced: the next iter() runs that epoch (2)
        third = iter(loader)
        assert len(third) == LEN and len([_ids(b) for b in third]) == LEN
        with pytest.raises(DaliPipelinesError, match="ended by a later iter"):
            next(unstarted)
        with pytest.raises(DaliPipelinesError, match="ended by a later iter"):
            list(zip(loader, loader))  # interleaving two iterations: refused, never mixed


def test_a_break_then_a_new_loop_is_a_whole_epoch(jpeg_folder: Path) -> None:
    epochs = _epochs(jpeg_folder, 2)
    with _loader(jpeg_folder) as loader:
        for _ in loader:
            break
        assert [_ids(b) for b in loader] == epochs[1]


_THREADS_PROBE = """
import json, threading
from dali_pipelines import DataLoader, ImageFolder
from dali_pipelines.errors import DaliPipelinesError
spec = {{"ops": [{{"op": "resize", "size": [16, 16]}}], "output": {{"dtype": "uint8"}}}}
loader = DataLoader(ImageFolder({folder!r}), spec, batch_size=4, shuffle=True, seed=3,
                    num_threads=1)
ids = lambda b: [int(v) for v in b[0].long().sum((1, 2, 3))]
first_batch, b_done = threading.Event(), threading.Event()
results = {{}}

def consume(name):
    try:
        out = []
        for batch in loader:
            out.append(ids(batch))
            if name == "A" and len(out) == 1:
                first_batch.set()
                b_done.wait(60)
        results[name] = ["ok", out]
    except DaliPipelinesError as exc:
        results[name] = ["error", str(exc)]
    finally:
        if name == "B":
            b_done.set()

a = threading.Thread(target=consume, args=("A",), name="A")
a.start()
first_batch.wait(60)
b = threading.Thread(target=consume, args=("B",), name="B")
b.start(); b.join(60); a.join(60)

# Free-for-all: two threads loop at once, several rounds; each gets a whole epoch or an error.
free = []
for _ in range(3):
    results_round = {{}}
    def loop(name):
        try:
            results_round[name] = ["ok", [ids(x) for x in loader]]
        except DaliPipelinesError as exc:
            results_round[name] = ["error", str(exc)]
    threads = [threading.Thread(target=loop, args=(n,), name=n) for n in ("C", "D")]
    [t.start() for t in threads]; [t.join(60) for t in threads]
    free.append(results_round)
loader.close()
print(json.dumps({{"pair": results, "free": free}}))
"""


def test_a_second_thread_gets_a_clear_error_never_mixed_data(jpeg_folder: Path) -> None:
    done = run_limited(_THREADS_PROBE.format(folder=str(jpeg_folder)), seconds=180)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.last_line)
    epochs = _epochs(jpeg_folder, 1)
    assert out["pair"]["A"] == ["ok", epochs[0]]  # the first thread's epoch, whole
    kind, message = out["pair"]["B"]
    assert kind == "error" and "while thread 'A' is iterating this loader" in message
    whole = sorted(i for batch in epochs[0] for i in batch)
    for round_ in out["free"]:
        for kind, value in round_.values():
            if kind == "ok":  # a whole epoch (each sample once), never a part of one
                assert len(value) == LEN and sorted(i for b in value for i in b) == whole
            else:
                assert "one iteration at a time per loader" in value
        assert any(kind == "ok" for kind, _ in round_.values())


# -- 7. Python stages --------------------------------------------------------------------------
@register_python_op("adv_shrink")
def _shrink(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Declared size="same" (the default), returns half the height."""
    return np.ascontiguousarray(image[: image.shape[0] // 2])


@register_python_op("adv_fixed", size=(16, 16))
def _fixed_wrong(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Declared (16, 16), returns (8, 16)."""
    return np.zeros((8, 16, image.shape[2]), dtype=image.dtype)


PLACEMENTS = [
    {"python_placement": "inline"},
    {"python_placement": "workers", "num_workers": 2},
    {"python_placement": "workers", "num_workers": 0},
    {"backend": "reference", "num_workers": 0},
    {"backend": "reference", "num_workers": 2},
]


@pytest.mark.parametrize("where", PLACEMENTS, ids=lambda w: "-".join(map(str, w.values())))
@pytest.mark.parametrize(
    ("op", "expected"),
    [("adv_shrink", r"\(the input's: the op declares size=\"same\""), ("adv_fixed", r"\(16, 16\)")],
)
def test_a_stage_returning_the_wrong_size_is_named_in_every_placement(
    jpeg_folder: Path, where: dict[str, Any], op: str, expected: str
) -> None:
    spec = {"ops": [{"op": "python", "name": op}, {"op": "random_resized_crop", "size": 12}]}
    with (
        DataLoader(ImageFolder(jpeg_folder), spec, batch_size=4, device="cpu", **where) as loader,
        pytest.raises(PythonStageError) as info,
    ):
        list(loader)
    err = info.value
    assert err.op == op and err.index == 0 and err.path == ImageFolder(jpeg_folder).path(0)
    prefix = f"python stage {op!r} failed on sample 0 ({err.path}): ValueError: returned size"
    assert str(err).startswith(prefix), str(err)
    assert re.search(expected, str(err)), str(err)


_INTERRUPT_PROBE = """
import json, numpy as np
from dali_pipelines import DataLoader, ImageFolder, register_python_op

@register_python_op("adv_interrupt")
def interrupt(image, rng, kind="KeyboardInterrupt"):
    raise {{"KeyboardInterrupt": KeyboardInterrupt, "SystemExit": SystemExit}}[kind]("stop")

out = []
for kind in ("KeyboardInterrupt", "SystemExit"):
    spec = {{"ops": [{{"op": "center_crop", "size": 24}},
                     {{"op": "python", "name": "adv_interrupt", "params": {{"kind": kind}}}}]}}
    for where in {placements!r}:
        try:
            with DataLoader(ImageFolder({folder!r}), spec, batch_size=4, device="cpu",
                            **where) as loader:
                list(loader)
            out.append([kind, where, "no error", []])
        except BaseException as exc:
            out.append([kind, where, type(exc).__name__, getattr(exc, "__notes__", [])])
print(json.dumps(out))
"""


def test_an_interrupt_in_a_stage_stays_an_interrupt_naming_op_sample_and_file(
    jpeg_folder: Path,
) -> None:
    code = _INTERRUPT_PROBE.format(folder=str(jpeg_folder), placements=PLACEMENTS)
    done = run_limited(code, seconds=240)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    path = ImageFolder(jpeg_folder).path(0)
    results = json.loads(done.last_line)
    assert len(results) == 2 * len(PLACEMENTS)
    for kind, where, raised, notes in results:
        assert raised == kind, (kind, where, raised)
        assert f"raised in python stage 'adv_interrupt' on sample 0 ({path})" in notes, notes


def test_timeout_is_torchs_argument(jpeg_folder: Path) -> None:
    with _loader(jpeg_folder, timeout=5) as loader:
        assert loader.config.timeout == 5.0
    for bad in (-1, True, "5", float("nan")):
        with pytest.raises(LoaderConfigError, match=r"^timeout: expected a number >= 0, got"):
            _loader(jpeg_folder, timeout=bad)


_HANG_PROBE = """
import json, multiprocessing, os, signal, time
from pathlib import Path
import numpy as np
from dali_pipelines import DataLoader, ImageFolder, register_python_op
from dali_pipelines.errors import PythonStageError

FLAG = Path({flag!r})

@register_python_op("adv_hang", placement="workers")
def hang(image, rng, how="sleep"):
    if FLAG.exists() and multiprocessing.parent_process() is not None:
        if how == "stop":
            os.kill(os.getpid(), signal.SIGSTOP)
        while True:
            time.sleep(1)
    return image

out = {{}}
for how in ("sleep", "stop"):
    spec = {{"ops": [{{"op": "center_crop", "size": 24}},
                     {{"op": "python", "name": "adv_hang", "params": {{"how": how}}}}]}}
    loader = DataLoader(ImageFolder({folder!r}), spec, batch_size=4, device="cpu",
                        num_workers=2, timeout=2)
    FLAG.touch()
    start = time.monotonic()
    try:
        list(loader)
        out[how] = ["no error"]
    except PythonStageError as exc:
        out[how] = ["PythonStageError", str(exc), exc.op, round(time.monotonic() - start, 1)]
    FLAG.unlink()
    out[how].append(len(list(loader)))  # the next epoch: a fresh pool, every batch
    loader.close()
print(json.dumps(out))
"""


def test_a_stage_that_never_returns_ends_in_a_stage_error_after_timeout(
    jpeg_folder: Path, tmp_path: Path
) -> None:
    code = _HANG_PROBE.format(folder=str(jpeg_folder), flag=str(tmp_path / "hang"))
    done = run_limited(code, seconds=240)
    assert not done.timed_out and done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.last_line)
    for how in ("sleep", "stop"):
        kind, message, op, seconds, next_epoch = out[how]
        assert kind == "PythonStageError" and op == "adv_hang"
        assert "no result within timeout=2 s for samples 0 (" in message, message
        assert "the next epoch starts a fresh pool" in message
        assert seconds < 30 and next_epoch == LEN


def test_two_threads_advancing_one_iterator_get_a_clear_error(jpeg_folder: Path) -> None:
    started, release = threading.Event(), threading.Event()

    @register_python_op("adv_gate", placement="inline")
    def gate(image: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        started.set()
        release.wait(30)
        return image

    spec = {"ops": [{"op": "python", "name": "adv_gate"}, {"op": "center_crop", "size": 16}]}
    try:
        with DataLoader(ImageFolder(jpeg_folder), spec, batch_size=4, num_threads=1) as loader:
            batches = iter(loader)
            worker = threading.Thread(target=lambda: next(batches), name="first")
            worker.start()
            assert started.wait(30)
            with pytest.raises(DaliPipelinesError, match="while thread 'first' is advancing it"):
                next(batches)
            release.set()
            worker.join(30)
    finally:
        release.set()
        from dali_pipelines.ops.python.registry import unregister_python_op

        unregister_python_op("adv_gate")
