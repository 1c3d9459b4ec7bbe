"""A static feed host for benchmarks, run in its OWN process so its work does not share the
measured process's GIL: serves every file of a folder with a strong ETag and Last-Modified,
answers conditional GETs with 304, keeps connections alive (uvicorn, which Prefect brings).

    python bench/feedhost.py FOLDER PORT
"""

from __future__ import annotations

import hashlib
import sys
from email.utils import formatdate
from pathlib import Path
from typing import Any

import uvicorn

Headers = list[tuple[bytes, bytes]]


def load(folder: Path) -> dict[str, tuple[bytes, bytes, bytes]]:
    """path -> (body, etag, last-modified), read once at start."""
    stamp = formatdate(usegmt=True).encode()
    files = {}
    for path in sorted(folder.iterdir()):
        body = path.read_bytes()
        etag = b'"' + hashlib.sha256(body).hexdigest()[:24].encode() + b'"'
        files["/" + path.name] = (body, etag, stamp)
    return files


def make_app(files: dict[str, tuple[bytes, bytes, bytes]]) -> Any:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        found = files.get(scope["path"])
        if found is None:
            await send({"type": "http.response.start", "status": 404, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        body, etag, stamp = found
        request = dict(scope["headers"])
        headers: Headers = [(b"etag", etag), (b"last-modified", stamp)]
        if request.get(b"if-none-match") == etag:
            await send({"type": "http.response.start", "status": 304, "headers": headers})
            await send({"type": "http.response.body", "body": b""})
            return
        headers += [
            (b"content-type", b"application/rss+xml"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


if __name__ == "__main__":
    folder, port = Path(sys.argv[1]), int(sys.argv[2])
    uvicorn.run(
        make_app(load(folder)), host="127.0.0.1", port=port, log_level="warning", access_log=False
    )
