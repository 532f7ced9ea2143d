"""The simulator's HTTP server: every vendor front behind one port on 127.0.0.1.

    with SimulatorServer(seed=1, faults="flaky") as sim:
        seller = sim.world.add_seller("EU", ["UK", "DE"])
        ...  # point the client library at sim.url; assert on sim.requests

`port=0` picks a free port. Requests are recorded (method, path, query, headers, body, status) so tests
can check what a client sent. Routing is table-driven: each front contributes its routes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from channels.simulator.amazon import front as amazon_front
from channels.simulator.amazon.common import AmazonContext
from channels.simulator.faults import FaultInjector, FaultProfile
from channels.simulator.http import Request, Response, Router
from channels.simulator.world import World

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecordedRequest:
    """One request the server answered."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes
    status: int


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    simulator: SimulatorServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("simulator connection error from %s", client_address, exc_info=True)


class _RequestHandler(BaseHTTPRequestHandler):
    server: _HttpServer
    server_version = "AcornSimulator/1.0"
    # One request per connection: no idle keep-alive threads to wait for on shutdown.
    protocol_version = "HTTP/1.0"

    def _serve(self) -> None:
        split = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(
            method=self.command,
            path=split.path or "/",
            query=parse_qs(split.query, keep_blank_values=True),
            headers={name.lower(): value for name, value in self.headers.items()},
            body=self.rfile.read(length) if length > 0 else b"",
        )
        response = self.server.simulator.handle(request)
        if response.dropped:
            if response.hang_seconds > 0:
                time.sleep(response.hang_seconds)
            self.close_connection = True
            return
        self.send_response(response.status)
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("simulator %s - %s", self.address_string(), format % args)


class SimulatorServer:
    """A running simulator: `.url`, `.world`, `.requests`; a context manager, or `.start()` / `.stop()`."""

    def __init__(
        self,
        seed: int = 1,
        faults: str | FaultProfile = "none",
        host: str = "127.0.0.1",
        port: int = 0,
        world: World | None = None,
        *,
        rate_scale: float = 1000.0,
        max_recorded: int = 10000,
    ) -> None:
        self.seed = seed
        self.world = world if world is not None else World(seed)
        profile = faults if isinstance(faults, FaultProfile) else FaultProfile.named(faults)
        self.faults = FaultInjector(profile, seed)
        self.host = host
        self.port = port
        self._recorded: deque[RecordedRequest] = deque(maxlen=max_recorded)
        self._httpd: _HttpServer | None = None
        self._thread: threading.Thread | None = None
        self.amazon = AmazonContext(self.world, self.faults, base_url=lambda: self.url, rate_scale=rate_scale)
        self.router = Router()
        self.router.add(amazon_front.routes(self.amazon))

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8765 (the port is known once the server is bound)."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self._recorded)

    def clear_requests(self) -> None:
        self._recorded.clear()

    def handle(self, request: Request) -> Response:
        """Answer one request (also usable without HTTP, e.g. in unit tests)."""
        try:
            response = self.router.dispatch(request)
        except Exception:  # a simulator bug must answer 500, like a vendor outage, not kill the thread
            logger.exception("simulator error on %s %s", request.method, request.path)
            response = Response.json_body(
                {
                    "errors": [
                        {"code": "InternalFailure", "message": "We encountered an internal error.", "details": ""}
                    ]
                },
                status=500,
            )
        self._recorded.append(
            RecordedRequest(request.method, request.path, request.query, request.headers, request.body, response.status)
        )
        return response

    def bind(self) -> _HttpServer:
        """Open the listening socket (idempotent); afterwards `url` has the real port."""
        if self._httpd is None:
            httpd = _HttpServer((self.host, self.port), _RequestHandler)
            httpd.simulator = self
            self.port = int(httpd.server_address[1])
            self._httpd = httpd
        return self._httpd

    def start(self) -> SimulatorServer:
        """Serve in a background thread; returns self."""
        httpd = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="acorn-simulator", daemon=True
            )
            self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C raises KeyboardInterrupt to the caller)."""
        httpd = self.bind()
        try:
            httpd.serve_forever(poll_interval=0.2)
        finally:
            httpd.server_close()
            self._httpd = None

    def stop(self) -> None:
        """Stop serving and release the port."""
        httpd, thread = self._httpd, self._thread
        self._httpd = self._thread = None
        if httpd is not None:
            if thread is not None:
                httpd.shutdown()
                thread.join(timeout=5)
            httpd.server_close()

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
