"""pytest plugin, registered through the ``pytest11`` entry point as ``dali_pipelines``.

Gives every test suite of a project that installed dali-pipelines:

* ``assert_contract(batch, contract)`` (a function here and a fixture of the same name): fails
  the test listing every violation, the way pytest reports a failed ``assert``;
* the ``batch_contract`` fixture: a contract loaded by name (``"imagenet_train"``) or ``.yaml``
  path, taken from ``@pytest.mark.batch_contract(...)``, from indirect parametrization, or from
  the ``batch_contract`` ini option, in that order;

Disable it with ``-p no:dali_pipelines``. Heavy imports wait until a fixture is used, because
pytest imports this module in every session.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .check import ValuesMode
    from .model import BatchContract

INI = "batch_contract"
MARKER = "batch_contract"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI, "contract (name or .yaml path) the batch_contract fixture loads", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(source): contract name or .yaml path for the batch_contract fixture"
    )


def assert_contract(
    batch: Any, contract: BatchContract | str | Path, *, values: ValuesMode = "full"
) -> None:
    """Fail with every way ``batch`` breaks ``contract`` (a contract, name or path).

    Raises :class:`~dali_pipelines.errors.ContractViolation` (an ``AssertionError``), one line
    per violation. Values are checked in full by default: a test can afford it.
    """
    __tracebackhide__ = True  # the failure points at the test's line, not at this helper
    from ..errors import ContractViolation
    from .check import violations
    from .store import load_contract

    loaded = load_contract(contract)
    errors = violations(batch, loaded, values=values)
    if errors:
        title = f"contract {loaded.name}" if loaded.name else "the contract"
        lines = "\n".join(f"  {e}" for e in errors)
        raise ContractViolation(f"batch does not satisfy {title}:\n{lines}")


def _source(request: pytest.FixtureRequest) -> str | Path | None:
    param = getattr(request, "param", None)
    if param is not None:
        return param
    marker = request.node.get_closest_marker(MARKER)
    if marker is not None:
        if len(marker.args) != 1:
            got = len(marker.args)
            raise pytest.UsageError(f"{MARKER} marker: expected one name or path, got {got} args")
        return marker.args[0]
    ini = str(request.config.getini(INI)).strip()
    if ini:
        # An ini path means the ini file's folder, as every path in pytest's own options does.
        base = request.config.inipath.parent if request.config.inipath else Path.cwd()
        return base / ini if ini.lower().endswith((".yaml", ".yml")) else ini
    return None


@pytest.fixture
def batch_contract(request: pytest.FixtureRequest) -> BatchContract:
    """The contract named by the test's marker, indirect parameter, or the ini option."""
    from .store import load_contract

    source = _source(request)
    if source is None:
        pytest.fail(
            f"batch_contract: expected a contract from @pytest.mark.{MARKER}('name or path'), "
            f"indirect parametrization or the {INI} ini option, got none",
            pytrace=False,
        )
    return load_contract(source)


@pytest.fixture(name="assert_contract")
def assert_contract_fixture() -> Callable[..., None]:
    """:func:`assert_contract`, for tests that prefer a fixture to an import."""
    return assert_contract
