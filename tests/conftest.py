"""Shared fixtures. Heavier ones live in tests/support/ and are registered here."""

import os
from pathlib import Path

import pytest

# Composes do not boot their trees in QEMU unless a test asks for it (tests/test_boot.py
# sets FEDOSTREE_NO_BOOT_CHECK=0): a boot takes seconds of CPU the other tests do not need.
os.environ["FEDOSTREE_NO_BOOT_CHECK"] = "1"

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
