"""`fedostree serve` with every byte it sends counted: what a client's pull really costs
on the wire (headers included), by kind of file requested."""

from __future__ import annotations

import functools
import http.server
import threading
from collections import Counter
from pathlib import Path
from typing import Any

from fedostree.server.serve import make_server


def kind_of(path: str) -> str:
    """What a request fetched: a static delta, an object, or repository metadata."""
    if path.startswith("/deltas/"):
        return "deltas"
    if path.startswith("/objects/"):
        return "objects"
    return "metadata"


class ByteCounter:
    """Bytes sent, by kind of request; safe to update from the server's threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.by_kind: Counter[str] = Counter()
        self.requests: Counter[str] = Counter()

    def add(self, kind: str, nbytes: int) -> None:
        with self._lock:
            self.by_kind[kind] += nbytes

    def request(self, kind: str) -> None:
        with self._lock:
            self.requests[kind] += 1

    def reset(self) -> None:
        with self._lock:
            self.by_kind.clear()
            self.requests.clear()

    @property
    def total(self) -> int:
        with self._lock:
            return sum(self.by_kind.values())

    def describe(self) -> str:
        with self._lock:
            parts = [f"{k} {self.by_kind[k]} B in {self.requests[k]} requests"
                     for k in sorted(self.requests)]  # fmt: skip
        return ", ".join(parts) or "nothing served"


class _CountingWriter:
    """The handler's output stream, counting what passes through it."""

    def __init__(self, inner: Any, counter: ByteCounter, handler: Any) -> None:
        self._inner, self._counter, self._handler = inner, counter, handler

    def write(self, data: Any) -> int:
        kind = getattr(self._handler, "bench_kind", "metadata")
        self._counter.add(kind, len(memoryview(data).cast("B")))
        written: int = self._inner.write(data)
        return written

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def count_bytes(server: Any, counter: ByteCounter) -> None:
    """Wrap the server's request handler so that every response byte is counted, by the
    kind of path requested."""
    inner = server.RequestHandlerClass  # functools.partial(_Handler, directory=...)
    base = getattr(inner, "func", inner)
    keywords = getattr(inner, "keywords", {})

    class Counting(base):  # type: ignore[misc, valid-type]
        def setup(self) -> None:
            super().setup()
            this: Any = self
            this.wfile = _CountingWriter(this.wfile, counter, self)

        def parse_request(self) -> bool:
            ok: bool = super().parse_request()
            if ok:
                self.bench_kind = kind_of(self.path)
                counter.request(self.bench_kind)
            return ok

    server.RequestHandlerClass = functools.partial(Counting, **keywords)


class _QuietFiles(http.server.SimpleHTTPRequestHandler):
    """Static files, without a log line per request on stderr."""

    def log_message(self, format: str, *args: object) -> None:
        pass


def make_file_server(directory: Path) -> http.server.ThreadingHTTPServer:
    """A plain static file server on 127.0.0.1 (an rpm-md repository, as a mirror serves it)."""
    handler = functools.partial(_QuietFiles, directory=str(directory))
    return http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)


class CountingServer:
    """`fedostree.server.serve.make_server` on 127.0.0.1, in a thread, counting what it sends;
    with files=True, any directory's files as a plain web server sends them."""

    def __init__(self, repo: Path, *, files: bool = False) -> None:
        self.counter = ByteCounter()
        self._httpd = make_file_server(repo) if files else make_server(repo, "127.0.0.1", 0)
        count_bytes(self._httpd, self.counter)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()

    def __enter__(self) -> CountingServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
