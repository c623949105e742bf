"""Shared fixtures: the exported linear model and the consumers under test.

`make test` trains the models and builds both consumers before pytest starts; a missing model or
binary is a failure with the command that fixes it, never a silent skip.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from python_producer.reference.model_dir import complete_versions
from python_producer.tf_runtime import set_environment
from tests.harness.consumers import CONSUMERS, MODELS, Consumer, having

# Before any test module imports TensorFlow (tensorflow_serving does, at collection), so that
# references computed in this process have the contract's bits.
set_environment()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "slow: starts servers, trains or kills exports; left out by make test-fast"
    )


def latest(name: str) -> Path:
    """Return the highest complete version folder of ``models/<name>`` or fail the test."""
    versions = complete_versions(MODELS / name)
    if not versions:
        pytest.fail(f"models/{name} has no exported version; run `make models`")
    return MODELS / name / str(versions[-1])


@pytest.fixture(scope="session")
def linear_dir() -> Path:
    return latest("linear")


@pytest.fixture(scope="session")
def go_built() -> None:
    """Fail (never skip) when a serving consumer is not built: the serving tests start it."""
    for server in having("serve_rest"):
        if missing := server.missing():
            pytest.fail(missing)


@pytest.fixture(params=[c.name for c in CONSUMERS])
def consumer(request) -> Consumer:
    found = next(c for c in CONSUMERS if c.name == request.param)
    missing = found.missing()
    if missing:
        pytest.fail(missing)
    return found
