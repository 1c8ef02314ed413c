"""Shared fixtures. Heavier ones live in tests/support/ and are registered here."""

pytest_plugins = ["tests.support.rpms"]
