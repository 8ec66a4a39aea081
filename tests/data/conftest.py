"""The data layer's fixtures: generated data in the real file formats, and a local HTTP server serving it."""

from __future__ import annotations

import dataclasses
import hashlib
import http.server
import threading
from pathlib import Path

import pytest

from course_lib.data import catalog, tiny


@pytest.fixture(scope="session")
def tiny_files(tmp_path_factory) -> Path:
    """A folder with every tiny dataset file, as the download sites would serve them."""
    folder = tmp_path_factory.mktemp("served")
    tiny.write_tiny(folder)
    return folder


class _Handler(http.server.BaseHTTPRequestHandler):
    """Serves `/<mode>/<file>`: mode `good` sends the file, `cut` closes the connection halfway."""

    root: Path
    requests: list[str]

    def do_GET(self):
        self.requests.append(self.path)
        _, mode, name = self.path.split("/", 2)
        path = self.root / name
        if not path.is_file():
            self.send_error(404)
            return
        body = path.read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if mode == "good" else body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def offline(monkeypatch):
    """Any attempt to reach the network fails the test."""
    monkeypatch.setattr("urllib.request.urlopen", lambda *a, **k: pytest.fail("tried the network"))


@pytest.fixture
def server(tiny_files):
    """A loopback HTTP server over `tiny_files`; yields (base URL, list of requested paths)."""
    requests: list[str] = []
    handler = type("Handler", (_Handler,), {"root": tiny_files, "requests": requests})
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    # shutdown() waits for the loop's next poll: 0.5 s by default, paid by every test using the server
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", requests
    httpd.shutdown()
    httpd.server_close()


def sha256(path: Path) -> str:
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def serve_as_official(monkeypatch, server, tiny_files):
    """Point dataset `name` at the local server in `mode`; its published checksum becomes the tiny file's.

    With `mode='mismatch'` the published checksum is wrong, as for a tampered download.
    """

    def point(name: str, mode: str = "good") -> catalog.Dataset:
        base, _ = server
        original = catalog.DATASETS[name]
        files = tuple(
            dataclasses.replace(
                r,
                url=f"{base}/{'cut' if mode == 'cut' else 'good'}/{_served_path(original, r)}",
                checksum=("sha256:" + "0" * 64)
                if mode == "mismatch"
                else sha256(tiny_files / _served_path(original, r)),
            )
            for r in original.files
        )
        replaced = dataclasses.replace(original, files=files, counts=original.tiny_counts)
        monkeypatch.setitem(catalog.DATASETS, name, replaced)
        return replaced

    return point


def _served_path(dataset: catalog.Dataset, remote: catalog.Remote) -> str:
    return f"{dataset.subdir}/{remote.filename}" if dataset.subdir else remote.filename


@pytest.fixture
def leftovers():
    """A function listing temporary or partial files anywhere under a folder."""

    def find(folder: Path) -> list[str]:
        return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.name.endswith((".part", ".tmp")))

    return find
