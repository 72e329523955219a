"""The gateway tests share one real LiteLLM proxy in front of one emulator (see session.py)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from . import session
from .session import Gateway


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without xdist, start the gateway early, while other tests run, when this process will run gateway
    tests (not for ``--collect-only``). xdist workers each collect every test: there the controller
    starts it (``tests/conftest.py``), or, when it did not, the worker that needs it, at its first test."""
    if config.option.collectonly or os.environ.get("PYTEST_XDIST_WORKER") is not None:
        return
    if any("tests/gateway/" in item.nodeid for item in items):
        session.start_here()


@pytest.fixture(scope="session")
def gateway() -> Iterator[Gateway]:
    yield session.gateway()
    session.close_here()
