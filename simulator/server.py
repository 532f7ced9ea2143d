"""The simulator's HTTP server: every vendor front behind one port on 127.0.0.1.

    with SimulatorServer(seed=1, faults="flaky") as sim:
        seller = sim.world.add_seller("EU", ["UK", "DE"])
        ...  # point the client library at sim.url; assert on sim.requests

`port=0` picks a free port. Requests are recorded (method, path, query, headers, body, status) so tests
can check what a client sent. Routing is table-driven: each front contributes its routes.

A second listener serves the same routes over HTTPS (`tls_port`, `tls_url`; `tls_port=None` turns it
off) with a certificate from the simulator's own CA: clients verify it with `verify=sim.tls_cert_path`.
The WooCommerce front (everything under /woo) is reached there, as shops are in production.
"""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulator.amazon import front as amazon_front
from simulator.amazon.common import AmazonContext
from simulator.ecb import EcbContext
from simulator.faults import FaultInjector, FaultProfile
from simulator.http import Request, Response, Router
from simulator.quickbooks import front as quickbooks_front
from simulator.quickbooks.front import QuickBooksContext
from simulator.shopify import front as shopify_front
from simulator.shopify.context import ShopifyContext
from simulator.warehouse import WarehouseContext
from simulator.warehouse import routes as warehouse_routes
from simulator.woocommerce import front as woo_front
from simulator.woocommerce.context import WooContext
from simulator.woocommerce.tls import TlsFiles, tls_files
from simulator.world import World

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
    scheme = "http"

    def handle_error(self, request: Any, client_address: Any) -> None:
        logger.debug("simulator connection error from %s", client_address, exc_info=True)


class _TlsHttpServer(_HttpServer):
    """The TLS handshake happens in the request's thread, so a slow client never blocks accepting."""

    scheme = "https"
    ssl_context: ssl.SSLContext

    def finish_request(self, request: Any, client_address: Any) -> None:
        request.settimeout(10)
        try:
            connection = self.ssl_context.wrap_socket(request, server_side=True)
        except (OSError, ssl.SSLError):
            logger.debug("TLS handshake with %s failed", client_address, exc_info=True)
            return
        try:
            super().finish_request(connection, client_address)
        finally:
            self.shutdown_request(connection)


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
            scheme=self.server.scheme,
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
        tls_port: int | None = 0,
        tls_dir: str | Path | None = None,
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
        self.tls_port = tls_port
        self._tls_dir = tls_dir
        self._tls_files: TlsFiles | None = None
        self._httpsd: _TlsHttpServer | None = None
        self._tls_thread: threading.Thread | None = None
        self.amazon = AmazonContext(self.world, self.faults, base_url=lambda: self.url, rate_scale=rate_scale)
        self.router = Router()
        self.router.add(amazon_front.routes(self.amazon))
        self.shopify = ShopifyContext(self.world, self.faults, base_url=lambda: self.url, rate_scale=rate_scale)
        self.router.add(shopify_front.routes(self.shopify))
        self.woo = WooContext(
            self.world, self.faults, site_url_base=lambda: self.tls_url if self.tls_port is not None else self.url
        )
        self.warehouse = WarehouseContext(self.faults, base_url=lambda: self.url)
        self.router.add(warehouse_routes(self.warehouse))
        self.quickbooks = QuickBooksContext(base_url=lambda: self.url)
        self.router.add(quickbooks_front.routes(self.quickbooks))
        self.ecb = EcbContext(seed=seed, clock=self.world.now, faults=self.faults, base_url=lambda: self.url)
        self.router.add(self.ecb.routes())

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8765 (the port is known once the server is bound)."""
        return f"http://{self.host}:{self.port}"

    @property
    def tls_url(self) -> str:
        """HTTPS base URL, e.g. https://127.0.0.1:8766 (the port is known once the server is bound)."""
        return f"https://{self.host}:{self.tls_port}"

    @property
    def tls_cert_path(self) -> str:
        """PEM file of the CA that signed the HTTPS listener's certificate: pass it as `verify=`."""
        if self._tls_files is None:
            self._tls_files = tls_files(self._tls_dir)
        return str(self._tls_files.ca)

    @property
    def requests(self) -> list[RecordedRequest]:
        return list(self._recorded)

    def clear_requests(self) -> None:
        self._recorded.clear()

    def handle(self, request: Request) -> Response:
        """Answer one request (also usable without HTTP, e.g. in unit tests)."""
        try:
            if woo_front.owns(request.path):
                response = woo_front.handle(self.woo, request)
            else:
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
        if self.tls_port is not None and self._httpsd is None:
            self.tls_cert_path  # noqa: B018 - make (or load) the certificates
            assert self._tls_files is not None
            httpsd = _TlsHttpServer((self.host, self.tls_port), _RequestHandler)
            httpsd.simulator = self
            httpsd.ssl_context = self._tls_files.server_context()
            self.tls_port = int(httpsd.server_address[1])
            self._httpsd = httpsd
        return self._httpd

    def _start_tls(self) -> None:
        if self._httpsd is not None and self._tls_thread is None:
            self._tls_thread = threading.Thread(
                target=self._httpsd.serve_forever,
                kwargs={"poll_interval": 0.01},
                name="acorn-simulator-tls",
                daemon=True,
            )
            self._tls_thread.start()

    def _stop_tls(self) -> None:
        httpsd, thread = self._httpsd, self._tls_thread
        self._httpsd = self._tls_thread = None
        if httpsd is not None:
            if thread is not None:
                httpsd.shutdown()
                thread.join(timeout=5)
            httpsd.server_close()

    def start(self) -> SimulatorServer:
        """Serve in a background thread; returns self."""
        httpd = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=httpd.serve_forever, kwargs={"poll_interval": 0.01}, name="acorn-simulator", daemon=True
            )
            self._thread.start()
        self._start_tls()
        return self

    def serve_forever(self) -> None:
        """Serve in the calling thread until interrupted (Ctrl-C raises KeyboardInterrupt to the caller)."""
        httpd = self.bind()
        self._start_tls()
        try:
            httpd.serve_forever(poll_interval=0.2)
        finally:
            httpd.server_close()
            self._httpd = None
            self._stop_tls()
            self.woo.close()

    def stop(self) -> None:
        """Stop serving and release the port."""
        self.shopify.close()
        self.woo.close()
        self.warehouse.close()
        self._stop_tls()
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
