"""Serving an archive repository over HTTP: what `ostree pull` (ours or stock) fetches."""

from __future__ import annotations

import functools
import http.server
import logging
from pathlib import Path

from fedostree.errors import ConfigError

log = logging.getLogger(__name__)


class _Handler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)


def make_server(repo: Path, bind: str, port: int) -> http.server.ThreadingHTTPServer:
    """An HTTP server for the repository directory; port 0 picks a free port."""
    if not (repo / "config").is_file() or not (repo / "objects").is_dir():
        raise ConfigError(f"{repo}: not an OSTree repository")
    handler = functools.partial(_Handler, directory=str(repo))
    try:
        return http.server.ThreadingHTTPServer((bind, port), handler)
    except OSError as e:
        raise ConfigError(f"cannot listen on {bind}:{port}: {e.strerror}") from e
