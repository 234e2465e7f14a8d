"""The pytest plugin: ``entra_emulator`` (one emulator for the session) and ``entra`` (a reset emulator's client
for each test). Extra ``serve`` arguments come from the ini option ``entra_inbound_args``."""

import shlex

import pytest

from .process import start_emulator


def pytest_addoption(parser):
    parser.addini("entra_inbound_args", "extra arguments for `entra-inbound serve` (e.g. --config emulator.toml)",
                  default="")


@pytest.fixture(scope="session")
def entra_emulator(pytestconfig):
    """The emulator binary running on a free loopback port for the whole session."""
    emulator = start_emulator(shlex.split(pytestconfig.getini("entra_inbound_args")))
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def entra(entra_emulator):
    """The session's emulator, reset to a fresh start, as an :class:`~entra_inbound_pytest.EmulatorClient`."""
    entra_emulator.client.reset()
    return entra_emulator.client
