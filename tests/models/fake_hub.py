"""A small Hugging Face hub on 127.0.0.1 for download tests: real files, real protocol, bad days.

It answers what ``huggingface_hub.hf_hub_download`` (2.x) asks, with the same headers the hub
sends: ``HEAD``/``GET /{repo}/resolve/{revision}/{path}`` with ``X-Repo-Commit``, ``ETag``
(sha256 for LFS files, the git blob id otherwise), ``X-Linked-Etag``/``X-Linked-Size`` for
LFS files, ``X-Error-Code`` on 404s, and ``Range`` requests answered with 206.

Misbehaviour on demand, per file path:

- ``drop_after[path] = n``: the first GET sends ``n`` bytes of the body and hangs up;
- ``damaged.add(path)``: GETs serve the file with one byte flipped, headers unchanged
  (damage in transit: only a hash check catches it);
- ``throttle_s``: sleep between 64 kB chunks (to cancel in the middle of a download).

``requests`` logs every request as ``(method, path, range header)``.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import unquote, urlsplit

_LFS_MIN = 1024  # files from this size are served as LFS files (the hub's threshold is larger)


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


class FakeHub:
    def __init__(self) -> None:
        self.repos: dict[str, dict] = {}
        self.requests: list[tuple[str, str, str | None]] = []
        self.drop_after: dict[str, int] = {}
        self.damaged: set[str] = set()
        self.throttle_s = 0.0
        self.served: dict[str, int] = {}  # body bytes sent per file path
        self._dropped: set[str] = set()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    # -- content -------------------------------------------------------------------------
    def add_repo(self, repo_id: str, files: dict[str, bytes]) -> str:
        commit = hashlib.sha1(repr(sorted((k, hashlib.sha256(v).hexdigest()) for k, v in files.items()))
                              .encode()).hexdigest()
        self.repos[repo_id] = {"commit": commit, "files": dict(files)}
        return commit

    def etag(self, repo_id: str, path: str) -> str:
        data = self.repos[repo_id]["files"][path]
        return hashlib.sha256(data).hexdigest() if len(data) >= _LFS_MIN else git_blob_sha1(data)

    def gets(self, path_suffix: str = "") -> list[tuple[str, str, str | None]]:
        return [r for r in self.requests if r[0] == "GET" and r[1].endswith(path_suffix)]

    # -- server --------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            pass

        Handler.hub = hub
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    hub: FakeHub

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_HEAD(self) -> None:
        self._serve(body=False)

    def do_GET(self) -> None:
        self._serve(body=True)

    def _serve(self, *, body: bool) -> None:
        hub = self.hub
        path = urlsplit(self.path).path
        with hub._lock:
            hub.requests.append((self.command, path, self.headers.get("Range")))
        parts = path.lstrip("/").split("/")
        if len(parts) < 5 or parts[2] != "resolve":
            return self._error(404, "RepoNotFound")
        repo_id, revision, filename = f"{parts[0]}/{parts[1]}", unquote(parts[3]), unquote("/".join(parts[4:]))
        repo = hub.repos.get(repo_id)
        if repo is None:
            return self._error(404, "RepoNotFound")
        if revision not in ("main", repo["commit"]):
            return self._error(404, "RevisionNotFound")
        data = repo["files"].get(filename)
        if data is None:
            return self._error(404, "EntryNotFound", commit=repo["commit"])
        etag = hub.etag(repo_id, filename)
        if body and filename in hub.damaged:
            mid = len(data) // 2
            data = data[:mid] + bytes([data[mid] ^ 0xFF]) + data[mid + 1:]
        start = 0
        rng = self.headers.get("Range")
        if body and rng and rng.startswith("bytes="):
            start = int(rng[len("bytes="):].split("-")[0])
        status = 206 if start else 200
        self.send_response(status)
        self.send_header("X-Repo-Commit", repo["commit"])
        self.send_header("ETag", f'"{etag}"')
        if len(repo["files"][filename]) >= _LFS_MIN:
            self.send_header("X-Linked-Etag", f'"{etag}"')
            self.send_header("X-Linked-Size", str(len(data)))
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Type", "application/octet-stream")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        self.send_header("Content-Length", str(len(data) - start))
        self.end_headers()
        if not body:
            return
        payload = data[start:]
        drop = None
        with hub._lock:
            if filename in hub.drop_after and filename not in hub._dropped:
                hub._dropped.add(filename)
                drop = hub.drop_after[filename] - start
        sent = 0
        try:
            while sent < len(payload):
                n = 64 * 1024 if drop is None else min(64 * 1024, drop - sent)
                if n <= 0:
                    # Hang up in the middle of the body, as a flaky network does.
                    self.wfile.flush()
                    self.connection.shutdown(socket.SHUT_RDWR)
                    self.close_connection = True
                    return
                self.wfile.write(payload[sent:sent + n])
                sent += n
                with hub._lock:
                    hub.served[filename] = hub.served.get(filename, 0) + n
                if hub.throttle_s:
                    self.wfile.flush()
                    time.sleep(hub.throttle_s)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _error(self, code: int, error_code: str, *, commit: str | None = None) -> None:
        self.send_response(code)
        self.send_header("X-Error-Code", error_code)
        if commit:
            self.send_header("X-Repo-Commit", commit)
        self.send_header("Content-Length", "0")
        self.end_headers()
