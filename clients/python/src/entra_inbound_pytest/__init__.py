"""Run the entra-inbound emulator from Python tests: a process on a free port and a small client for it.

The pytest fixtures (``entra_emulator``, ``entra``) live in :mod:`entra_inbound_pytest.plugin`, which pytest
loads through the package's ``pytest11`` entry point.
"""

from .client import DEFAULT_JOB, DEFAULT_SP, DEFAULT_TENANT, EmulatorClient, EmulatorError, Response
from .process import Emulator, find_binary, start_emulator

__all__ = [
    "DEFAULT_JOB",
    "DEFAULT_SP",
    "DEFAULT_TENANT",
    "Emulator",
    "EmulatorClient",
    "EmulatorError",
    "Response",
    "find_binary",
    "start_emulator",
]
