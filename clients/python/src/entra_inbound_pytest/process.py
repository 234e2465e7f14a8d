"""Starting and stopping the ``entra-inbound`` binary on a free loopback port.

The binary is ``$ENTRA_INBOUND_BIN``, else ``entra-inbound`` on ``PATH``. ``serve --listen 127.0.0.1:0`` lets
the OS pick the port; the first line of the banner (``… listening on http://127.0.0.1:PORT``) says which.
"""

import os
import shutil
import subprocess
import threading

from .client import EmulatorClient, EmulatorError

START_TIMEOUT = 30


def find_binary():
    """The emulator binary: ``$ENTRA_INBOUND_BIN``, else ``entra-inbound`` on ``PATH``."""
    configured = os.environ.get("ENTRA_INBOUND_BIN")
    if configured:
        if not (os.path.isfile(configured) and os.access(configured, os.X_OK)):
            raise EmulatorError("ENTRA_INBOUND_BIN={} is not an executable file".format(configured))
        return configured
    found = shutil.which("entra-inbound")
    if found is None:
        raise EmulatorError(
            "entra-inbound not found: set ENTRA_INBOUND_BIN to the binary, or put it on PATH "
            "(cargo install --path . from a clone, or a release archive)"
        )
    return found


class Emulator:
    """A running emulator process; use as a context manager or call :meth:`stop`."""

    def __init__(self, process, base_url):
        self.process = process
        self.base_url = base_url
        self.client = EmulatorClient(base_url)

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_emulator(args=(), env=None, binary=None):
    """Starts ``entra-inbound serve`` on a free port with extra ``args``; returns an :class:`Emulator`."""
    binary = binary or find_binary()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("ENTRA_INBOUND")}
    environment.update(env or {})
    process = subprocess.Popen(
        [binary, "serve", "--listen", "127.0.0.1:0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environment,
        text=True,
    )
    first_line = []
    reader = threading.Thread(target=lambda: first_line.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(START_TIMEOUT)
    line = first_line[0] if first_line else ""
    if " listening on http://" not in line:
        process.kill()
        _, err = process.communicate(timeout=10)
        raise EmulatorError("{} did not start: {}".format(binary, (err or line or "no output").strip()))
    # Keep reading both streams so the emulator never blocks on a full pipe.
    for stream in (process.stdout, process.stderr):
        threading.Thread(target=_drain, args=(stream,), daemon=True).start()
    return Emulator(process, line.strip().rsplit(" ", 1)[-1])


def _drain(stream):
    for _ in stream:
        pass
