"""Shared fixtures. Heavier ones live in tests/support/ and are registered here."""

from pathlib import Path

import pytest

pytest_plugins = [
    "tests.support.rpms",
    "tests.support.client",
    "tests.support.standins",
    "tests.support.sample",
]


@pytest.fixture(scope="session")
def sample_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample package universe (fedostree.sample.universe), built once per session."""
    from fedostree.sample.universe import build_sample_repo

    return build_sample_repo(tmp_path_factory.mktemp("sample") / "repo")
