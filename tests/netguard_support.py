"""Test doubles for the private-address guard: DNS answered from a table (nothing leaves the machine) and a
server on 127.0.0.1 standing for something inside the network, which counts every connection it gets."""

from __future__ import annotations

import http.server
import ipaddress
import json
import socket
import threading
from types import TracebackType
from typing import Any

import pytest

from acorn import netguard
from acorn.netguard import HostNotFound, IPAddress

# The spellings from the issue, and more, of addresses that are not public. "{port}" is the inside server's.
LOOPBACK_SPELLINGS = (
    "127.1",
    "2130706433",
    "0x7f000001",
    "017700000001",
    "0177.0.0.1",
    "127.0.0.1.",
    "localhost.",
    "LocalHost",
    "[::1]",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
)
# Names whose DNS answer is an inside address (a nip.io-style name; the table below answers for it).
RESOLVING_INSIDE = {
    "169.254.169.254.nip.io": "169.254.169.254",
    "10.0.0.7.nip.io": "10.0.0.7",
    "wms.rebind.test": "127.0.0.1",
}
NOT_PUBLIC_HOSTS = (*LOOPBACK_SPELLINGS, *RESOLVING_INSIDE)
PUBLIC_ADDRESS = "93.184.215.14"


class FakeDns:
    """Replaces `acorn.netguard.resolve`. Each name has a queue of answers: each lookup takes the next, the last
    one repeats (DNS rebinding is "public first, then 127.0.0.1"). A name with no answer does not resolve."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.answers: dict[str, list[list[str]]] = {name: [[address]] for name, address in RESOLVING_INSIDE.items()}
        self.asked: list[str] = []
        monkeypatch.setattr(netguard, "resolve", self)

    def answer(self, name: str, *addresses: str) -> FakeDns:
        """Replace the answers for `name` with these addresses."""
        self.answers[name] = [list(addresses)]
        return self

    def then(self, name: str, *addresses: str) -> FakeDns:
        """After the answers so far, `name` resolves to these addresses."""
        self.answers.setdefault(name, []).append(list(addresses))
        return self

    def __call__(self, host: str) -> list[IPAddress]:
        self.asked.append(host)
        queue = self.answers.get(host)
        if not queue:
            raise HostNotFound(host)
        current = queue.pop(0) if len(queue) > 1 else queue[0]
        return [ipaddress.ip_address(address) for address in current]


class InsideServer:
    """HTTP on 127.0.0.1: a service inside the network. Counts every connection (a TLS handshake too) and
    answers with `SECRET` in a JSON body, or redirects everything to `redirect_to` when it is set."""

    SECRET = "inside-only-7f3a9c"

    def __init__(self, *, status: int = 200, redirect_to: str = "") -> None:
        self.status = status
        self.redirect_to = redirect_to
        self.connections = 0
        self.requests: list[tuple[str, str, str]] = []  # (method, path, Host header)
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                outer.requests.append((self.command, self.path, self.headers.get("Host", "")))
                if outer.redirect_to:
                    self.send_response(302)
                    self.send_header("Location", outer.redirect_to)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = json.dumps({"secret": outer.SECRET, "namespaces": ["wc/v3"], "value": "yes"}).encode()
                self.send_response(outer.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = do_PUT = _answer

            def log_message(self, format: str, *args: Any) -> None:
                pass

        class Server(http.server.ThreadingHTTPServer):
            daemon_threads = True

            def verify_request(self, request: Any, client_address: Any) -> bool:
                outer.connections += 1
                return True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True, name="inside-server"
        )

    def url(self, host: str, scheme: str = "https", path: str = "/") -> str:
        return f"{scheme}://{host}:{self.port}{path}"

    def __enter__(self) -> InsideServer:
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def no_real_dns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any lookup that bypasses netguard.resolve fails loudly instead of asking the machine's DNS."""

    def refuse(host: Any, *args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"real DNS asked for {host!r}")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
