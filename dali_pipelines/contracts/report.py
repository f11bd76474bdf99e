"""Showing contracts: a rich table for the CLI, markdown for ``docs/data_contracts.md``, and the
logic of ``dali-pipelines check SPEC [--contract FILE]`` so the CLI only prints what it returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import DaliPipelinesError
from ..spec.io import SpecLike, load_spec
from .infer import DeviceName, infer_contract
from .model import BatchContract, TensorSpec
from .store import diff_contracts, load_contract, shipped_contracts

if TYPE_CHECKING:  # pragma: no cover - typing only
    from rich.console import Console, Group, RenderableType
    from rich.table import Table

COLUMNS = ("tensor", "dims", "layout", "dtype", "device", "memory format", "value range")
DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "data_contracts.md"


def _bound(value: float) -> str:
    return f"{value:.5g}"  # a table is for reading; the file keeps every digit


def _cells(tensor: TensorSpec) -> tuple[str, ...]:
    value_range = tensor.value_range
    shown = "-" if value_range is None else f"[{_bound(value_range[0])}, {_bound(value_range[1])}]"
    name = f"{tensor.name} (or None)" if tensor.nullable else tensor.name
    return (
        name,
        tensor.shape_str,
        tensor.layout or "-",
        tensor.dtype,
        tensor.device,
        tensor.memory_format,
        shown,
    )


def _symbols_line(contract: BatchContract) -> str:
    varying = [name for name, size in contract.symbols.items() if size is None]
    if not varying:
        return "Every dim is fixed."
    return "Symbols (one size per batch, shared by every tensor): " + ", ".join(varying) + "."


def contract_table(contract: BatchContract) -> Table:
    """The contract as a rich table, one row per tensor, the symbols in the caption."""
    from rich.table import Table

    title = f"contract {contract.name}" if contract.name else "contract"
    table = Table(title=title, caption=_symbols_line(contract))
    for column in COLUMNS:
        # Dims and ranges read as one token each; wrapping them would split "(N, C=3, ...)".
        table.add_column(column, no_wrap=column in ("dims", "value range"))
    for tensor in contract.tensors:
        table.add_row(*_cells(tensor))
    return table


def contract_fields(contract: BatchContract) -> Group:
    """The contract for a narrow terminal: one block per tensor, a field and its value a line
    (nothing folded or cut), the symbols last."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    title = f"contract {contract.name}" if contract.name else "contract"
    blocks: list[RenderableType] = [Text(title, style="bold")]
    for tensor in contract.tensors:
        cells = _cells(tensor)
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(overflow="fold")
        for column, cell in zip(COLUMNS[1:], cells[1:], strict=True):
            grid.add_row(f"  {column}", cell)
        blocks += [Text(cells[0], style="bold"), grid]
    return Group(*blocks, Text(_symbols_line(contract)))


def contract_renderable(contract: BatchContract, console: Console) -> RenderableType:
    """The table when it fits the console's width whole, else :func:`contract_fields`."""
    table = contract_table(contract)
    wide = console.options.update_width(10_000)  # measured unclamped: its natural width
    fits = console.measure(table, options=wide).maximum <= console.width
    return table if fits else contract_fields(contract)


def contract_markdown(contract: BatchContract) -> str:
    """One contract as a markdown section: heading, table, symbols line."""
    rows = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join(" --- " for _ in COLUMNS) + "|",
        *("| " + " | ".join(_cells(t)) + " |" for t in contract.tensors),
    ]
    heading = f"## {contract.name}" if contract.name else "## contract"
    source = f"File: `contracts/{contract.name}.yaml`" if contract.name else ""
    return "\n".join([heading, "", source, "", *rows, "", _symbols_line(contract), ""])


_DOCS_HEAD = """\
# Data contracts

<!-- Generated from contracts/*.yaml by `python -m dali_pipelines.contracts docs --write`;
     a test fails when this file is stale. Edit the template in
     dali_pipelines/contracts/report.py, not this file. -->

A data contract says what every batch of a loader looks like: the tensors in order, their dims,
dtype, layout, device, memory format and value range. Each shipped strategy has one, reviewed as
a YAML file in `contracts/`, shipped inside the wheel and loadable by name. A test fails when a
strategy's inferred contract (`infer_contract`) differs from its file.

Dims read `N` (a symbol: any size, the same wherever it appears in the batch), `3` (fixed),
`C=3` (fixed, named; names bind across tensors too) or `*` (anything). Float ranges are closed
intervals, checked with a tolerance of a few ulps of the dtype; a range that covers a dtype's
whole domain (uint8 in [0, 255]) is never read.

```python
import numpy as np
from dali_pipelines.contracts import check_batch, load_contract, violations

contract = load_contract("imagenet_val")
images = np.zeros((8, 3, 224, 224), dtype=np.float32)
labels = np.zeros(8, dtype=np.int64)
check_batch((images, labels), contract, values="full")
gray = np.zeros((8, 1, 224, 224), dtype=np.float32)
assert violations((gray, labels[:4]), contract) == [
    "images.dims[1]: expected C=3, got 1",
    "labels.dims[0]: expected N=8 (bound by images.dims[0]), got 4",
]
```

In a test suite, the pytest plugin (installed with the package) gives `assert_contract(batch,
contract)` and a `batch_contract` fixture (`@pytest.mark.batch_contract("imagenet_val")`);
`dali_pipelines.contracts.strategies.batches(contract)` generates conforming batches with
Hypothesis (`pip install 'dali-pipelines[testing]'`), `violating_batches(contract)` near misses.
"""


def render_docs(contracts: Sequence[BatchContract] | None = None) -> str:
    """The text of ``docs/data_contracts.md``: the intro, then a table per shipped contract."""
    if contracts is None:
        contracts = [load_contract(name) for name in shipped_contracts()]
    return _DOCS_HEAD + "".join("\n" + contract_markdown(c) for c in contracts)


def write_docs(path: str | Path = DOCS_PATH) -> Path:
    target = Path(path)
    target.write_text(render_docs(), encoding="utf-8")
    return target


@dataclass(frozen=True)
class CheckResult:
    """What ``dali-pipelines check`` prints and returns: exit code, a message, the contract."""

    exit_code: int
    message: str
    contract: BatchContract | None = None


def check_spec(
    spec: SpecLike, contract_file: str | Path | None = None, *, device: DeviceName = "cpu"
) -> CheckResult:
    """Infer ``spec``'s contract and compare it with ``contract_file`` (a path or shipped name).

    Exit code 1 with the reason when the spec is impossible, the file cannot be read, or the
    inferred contract differs from the file (one ``where: expected X, got Y`` line per field).
    """
    try:
        contract = infer_contract(load_spec(spec), device=device)
    except DaliPipelinesError as exc:
        return CheckResult(1, f"cannot infer a contract: {exc}")
    if contract_file is None:
        return CheckResult(0, "spec ok", contract)
    try:
        expected = load_contract(contract_file)
    except DaliPipelinesError as exc:
        return CheckResult(1, str(exc), contract)
    # The name is a label: a user's own spec may match a shipped contract under another name.
    differences = diff_contracts(expected, contract.model_copy(update={"name": expected.name}))
    if differences:
        lines = "\n".join(f"  {d}" for d in differences)
        return CheckResult(1, f"spec differs from {contract_file}:\n{lines}", contract)
    return CheckResult(0, f"spec matches {contract_file}", contract)


def run_check(
    spec: SpecLike,
    contract_file: str | Path | None = None,
    *,
    device: DeviceName = "cpu",
    console: Console | None = None,
) -> int:
    """Print the inferred contract's table and the verdict; return the exit code (CLI glue)."""
    from rich.console import Console

    out = console or Console()
    result = check_spec(spec, contract_file, device=device)
    if result.contract is not None:
        out.print(contract_renderable(result.contract, out))
    style = "red" if result.exit_code else "green"
    out.print(result.message, style=style, highlight=False, soft_wrap=True)  # paths stay whole
    return result.exit_code
