#!/usr/bin/env python3
"""A small HTTP/1.1 server for CurlTransportTests (standard library only).

Started by the tests on 127.0.0.1, port 0; the first line on stdout is the port it got. Connections
are kept alive, and every answer names the connection it came over (a per-server counter and the
client's source port), so a test can see whether two requests shared one connection.

Routes (any method unless noted):
  /echo                  JSON: method, path, query, headers, body (text up to 64 KiB), bodyLength,
                         bodyAdler32, bodySha256, connection, clientPort
  /drain?rate=B          reads the request body at about B bytes a second (default 1 MiB), then
                         answers 200 with the count it read: an upload that takes a while
  /status/<code>         that status, body "status <code>"
  /bytes?count=N         N bytes of the pattern 0,1,...,255,0,1,...
  /drip?chunks=N&size=S&interval=T
                         N*S bytes (Content-Length set up front), S at a time, T seconds apart
  /hang?seconds=S        reads the request, then answers nothing for S seconds (default 60)
  /redirect              302 to /echo
  /headers               extra response headers (X-One, X-Repeat twice)

With --tls-cert/--tls-key it serves HTTPS instead.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import ssl
import sys
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_connection_ids = itertools.count(1)
_connection_lock = threading.Lock()
PATTERN = bytes(range(256)) * 256  # 64 KiB of the repeating pattern


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: reuse must be observable
    # Headers and body leave in separate writes; with Nagle on, each answer on a kept-alive
    # connection waits out the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        with _connection_lock:
            self.connection_id = next(_connection_ids)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - the base class's name
        pass  # stderr is the test's output; keep it for real problems

    def do_GET(self) -> None:
        self.route()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def do_HEAD(self) -> None:
        self.route(head=True)

    # ------------------------------------------------------------------

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        chunks = []
        while length > 0:
            chunk = self.rfile.read(min(length, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            length -= len(chunk)
        return b"".join(chunks)

    def answer(self, status: int, body: bytes, content_type: str = "text/plain",
               extra: list[tuple[str, str]] | None = None, head: bool = False) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("X-Connection-Id", str(self.connection_id))
        for name, value in extra or []:
            self.send_header(name, value)
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def route(self, head: bool = False) -> None:
        url = urllib.parse.urlsplit(self.path)
        params = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/drain":
            self.drain(float(params.get("rate", str(1 << 20))))
            return
        body = self.read_body()
        if url.path == "/echo":
            report = {
                "method": self.command,
                "path": url.path,
                "query": url.query,
                "headers": [[name, value] for name, value in self.headers.items()],
                "body": body.decode("utf-8", "replace") if len(body) <= 65536 else None,
                "bodyLength": len(body),
                "bodyAdler32": zlib.adler32(body),
                "bodySha256": hashlib.sha256(body).hexdigest(),
                "connection": self.connection_id,
                "clientPort": self.client_address[1],
            }
            self.answer(200, json.dumps(report).encode(), "application/json", head=head)
        elif url.path.startswith("/status/"):
            code = int(url.path.rsplit("/", 1)[1])
            self.answer(code, f"status {code}".encode(), head=head)
        elif url.path == "/bytes":
            self.send_bytes(int(params.get("count", "0")), head)
        elif url.path == "/drip":
            self.drip(int(params.get("chunks", "10")), int(params.get("size", "1024")),
                      float(params.get("interval", "0.1")))
        elif url.path == "/hang":
            time.sleep(float(params.get("seconds", "60")))
            self.close_connection = True
        elif url.path == "/redirect":
            self.answer(302, b"moved", extra=[("Location", "/echo")], head=head)
        elif url.path == "/headers":
            self.answer(200, b"ok", extra=[("X-One", "1"), ("X-Repeat", "a"), ("X-Repeat", "b")], head=head)
        else:
            self.answer(404, b"no such route", head=head)

    def send_bytes(self, count: int, head: bool) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(count))
        self.send_header("X-Connection-Id", str(self.connection_id))
        self.end_headers()
        if head:
            return
        sent = 0
        while sent < count:
            piece = PATTERN[: min(len(PATTERN), count - sent)]
            self.wfile.write(piece)
            sent += len(piece)

    def drain(self, rate: float) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        got = 0
        piece = max(1, int(rate / 20))
        try:
            while got < length:
                chunk = self.rfile.read(min(piece, length - got))
                if not chunk:
                    break
                got += len(chunk)
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        if got < length:
            self.close_connection = True  # the client gave up, as the interrupt test wants
            return
        self.answer(200, str(got).encode())

    def drip(self, chunks: int, size: int, interval: float) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(chunks * size))
        self.end_headers()
        try:
            for _ in range(chunks):
                self.wfile.write(PATTERN[:size] if size <= len(PATTERN) else b"x" * size)
                self.wfile.flush()
                time.sleep(interval)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True  # the client gave up, as the interrupt test wants


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True  # a hung handler must not keep the process alive on SIGTERM
    if args.tls_cert:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(args.tls_cert, args.tls_key)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    print(server.server_address[1], flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
