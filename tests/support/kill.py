"""Killing a command the way a power cut or `kill -9` would: its whole process group,
once it has reached a given point (a file a scriptlet creates)."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def kill_when_started(
    argv: Sequence[str], where: Path, patterns: Sequence[str], timeout: float = 120
) -> None:
    """Run argv in a session of its own, wait until a path under where matches one of
    patterns (glob), then SIGKILL the whole process group."""
    proc = subprocess.Popen(argv, start_new_session=True, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)  # fmt: skip
    deadline = time.monotonic() + timeout
    while not [p for pattern in patterns for p in where.glob(pattern)]:
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, f"{' '.join(patterns)} never appeared"
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
