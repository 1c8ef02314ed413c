"""Serving an archive repository over HTTP: what `ostree pull` (ours or stock) fetches,
byte for byte, plus the status page (fedostree.server.status_page) under /status/; / leads there.
Optionally an rpm-md repository under /rpms/ too, for clients to layer packages from (the
sample trees' /etc/yum.repos.d/fedostree-sample.repo points there)."""

from __future__ import annotations

import functools
import http.server
import logging
import os
import urllib.parse
from pathlib import Path
from typing import Any

from fedostree.engine.ostree import GLib
from fedostree.errors import ConfigError, FedostreeError
from fedostree.server.status_page import STATUS_PATH, render_error, render_route

log = logging.getLogger(__name__)
RPMS_PATH = "/rpms/"
# test logs (REPO/extensions/fedostree/results/COMMIT/NAME.log) open in the browser
EXTENSIONS = {
    **http.server.SimpleHTTPRequestHandler.extensions_map,
    ".log": "text/plain; charset=utf-8",
}


class _Handler(http.server.SimpleHTTPRequestHandler):
    def __init__(
        self, *args: Any, repo: Path, remote_name: str, rpm_repo: Path | None, **kwargs: Any
    ) -> None:
        self.repo = repo
        self.remote_name = remote_name
        self.rpm_repo = rpm_repo
        self.extensions_map = EXTENSIONS
        super().__init__(*args, directory=str(repo), **kwargs)

    def log_message(self, format: str, *args: object) -> None:
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:
        if not self.serve_status(with_body=True):
            super().do_GET()

    def do_HEAD(self) -> None:
        if not self.serve_status(with_body=False):
            super().do_HEAD()

    def translate_path(self, path: str) -> str:
        """/rpms/... from the rpm-md repository, everything else from the OSTree one."""
        local = super().translate_path(path)  # normalized: no '..' is left
        if self.rpm_repo is None:
            return local
        below = os.path.relpath(local, os.path.join(self.directory, RPMS_PATH.strip("/")))
        if below == ".":
            return str(self.rpm_repo)
        outside = below == os.pardir or below.startswith(os.pardir + os.sep)
        return local if outside else os.path.join(self.rpm_repo, below)

    def serve_status(self, *, with_body: bool) -> bool:
        """Answer the status page's paths; False for the repository's static files."""
        path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        if path in ("/", STATUS_PATH.rstrip("/")):
            self.send_page(302, "", with_body, location=STATUS_PATH)
        elif path.startswith(STATUS_PATH):
            try:
                code, page = render_route(self.repo, path, self.base_url(), self.remote_name)
            except (FedostreeError, GLib.Error) as e:
                log.warning("status page %s: %s", path, e)
                code, page = 500, render_error(str(e))
            self.send_page(code, page, with_body)
        else:
            return False
        return True

    def base_url(self) -> str:
        """The repository's URL as the client asked for it (the Host header)."""
        host = self.headers.get("Host") or "{}:{}".format(*self.connection.getsockname()[:2])
        return f"http://{host}/"

    def send_page(self, code: int, page: str, with_body: bool, location: str = "") -> None:
        data = page.encode()
        self.send_response(code)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if with_body:
            self.wfile.write(data)


def make_server(
    repo: Path,
    bind: str,
    port: int,
    remote_name: str = "fedostree",
    rpm_repo: Path | None = None,
) -> http.server.ThreadingHTTPServer:
    """An HTTP server for the repository directory, and for the rpm-md repository rpm_repo
    under /rpms/ when given; port 0 picks a free port."""
    if not (repo / "config").is_file() or not (repo / "objects").is_dir():
        raise ConfigError(f"{repo}: not an OSTree repository")
    if rpm_repo is not None:
        rpm_repo = rpm_repo.absolute()
        if not (rpm_repo / "repodata" / "repomd.xml").is_file():
            raise ConfigError(f"{rpm_repo}: not an rpm-md repository (no repodata/repomd.xml)")
    handler = functools.partial(_Handler, repo=repo, remote_name=remote_name, rpm_repo=rpm_repo)
    try:
        return http.server.ThreadingHTTPServer((bind, port), handler)
    except OSError as e:
        raise ConfigError(f"cannot listen on {bind}:{port}: {e.strerror}") from e
