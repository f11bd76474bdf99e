"""The pytest plugin as a user's test suite sees it (run in-process with pytester)."""

from __future__ import annotations

import pytest

from dali_pipelines.contracts import BatchContract, ContractViolation, contract_to_yaml
from dali_pipelines.contracts.pytest_plugin import assert_contract

from .conftest import image_contract

# The inner sessions load the plugin like an installed package does, whether or not this
# checkout is installed (the entry point is only there after `pip install -e .`).
CONFTEST = """
from dali_pipelines.contracts import pytest_plugin

def pytest_configure(config):
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "dali_pipelines")
"""

GOOD = "(np.zeros((2, 3, 224, 224), np.float32), np.zeros(2, np.int64))"


@pytest.fixture
def user(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    return pytester


def test_assert_contract_lists_every_violation(small: BatchContract):
    images, labels = __import__("torch").zeros(2, 1, 4, 5), __import__("torch").zeros(3)
    with pytest.raises(ContractViolation) as info:
        assert_contract((images, labels), small)
    assert str(info.value) == (
        "batch does not satisfy contract small:\n"
        "  images.dims[1]: expected C=3, got 1\n"
        "  labels.dims[0]: expected N=2 (bound by images.dims[0]), got 3\n"
        "  labels.dtype: expected int64, got float32"
    )
    assert isinstance(info.value, AssertionError)


def test_marker_fixture_and_failure_output(user: pytest.Pytester):
    user.makepyfile(
        f"""
        import numpy as np
        import pytest

        @pytest.mark.batch_contract("imagenet_val")
        def test_ok(batch_contract, assert_contract):
            assert batch_contract.name == "imagenet_val"
            assert_contract({GOOD}, batch_contract)

        @pytest.mark.batch_contract("imagenet_val")
        def test_bad(batch_contract, assert_contract):
            images = np.zeros((2, 1, 224, 224), np.float32)
            assert_contract((images, np.zeros(2, np.int64)), batch_contract)
        """
    )
    result = user.runpytest_inprocess()
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*assert_contract((images, np.zeros(2, np.int64)), batch_contract)",
            "E*ContractViolation: batch does not satisfy contract imagenet_val:",
            "E*images.dims?1?: expected C=3, got 1",  # ? for [ ]: fnmatch reads [1] as a class
        ]
    )
    # The traceback stops at the user's line: the helper's frame is hidden.
    assert "violations(batch, loaded" not in result.stdout.str()


def test_indirect_parametrization_and_paths(user: pytest.Pytester):
    user.makefile(".yaml", mine=contract_to_yaml(image_contract()))
    user.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize(
            "batch_contract", ["imagenet_train", "mine.yaml"], indirect=True
        )
        def test_names(batch_contract):
            assert batch_contract.name in ("imagenet_train", "small")
        """
    )
    user.runpytest_inprocess().assert_outcomes(passed=2)


def test_ini_option(user: pytest.Pytester):
    (user.path / "sub").mkdir()
    (user.path / "sub" / "c.yaml").write_text(contract_to_yaml(image_contract()))
    user.makeini("[pytest]\nbatch_contract = sub/c.yaml\n")
    user.makepyfile("def test_it(batch_contract):\n    assert batch_contract.name == 'small'\n")
    user.runpytest_inprocess().assert_outcomes(passed=1)


def test_fixture_without_a_source_says_how(user: pytest.Pytester):
    user.makepyfile("def test_it(batch_contract):\n    pass\n")
    result = user.runpytest_inprocess()
    result.assert_outcomes(errors=1)
    expected = (
        "batch_contract: expected a contract from @pytest.mark.batch_contract('name or path'), "
        "indirect parametrization or the batch_contract ini option, got none"
    )
    result.stdout.fnmatch_lines([f"*{expected}"])


def test_marker_is_registered(user: pytest.Pytester):
    result = user.runpytest_inprocess("--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.batch_contract(source):*"])
