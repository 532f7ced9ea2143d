"""The one guard against a tenant pointing ACORN's servers at a private network (server-side request forgery).

A store's site address and a warehouse's order endpoint are typed by tenants, and ACORN's servers then call
them. An address is public only when every address it stands for is public: a literal IP address is checked
as it is, a name is resolved and every address it resolves to is checked, and ``localhost`` (and any name
under ``.localhost``, RFC 6761) is loopback without asking DNS. The rule is the strictest of what the apps
used to check each on their own: an address is refused when it is private, loopback, link-local, reserved,
multicast, unspecified or otherwise not globally routable (carrier-grade NAT, documentation and benchmark
ranges), and an IPv6 address that wraps an IPv4 one (``::ffff:10.0.0.1``, 6to4, Teredo, NAT64) is judged by
the IPv4 address inside it as well.

Every spelling counts: the numbers-and-dots forms the C library accepts (``127.1``, ``2130706433``,
``0x7f000001``, ``0177.0.0.1``) are read as the address they stand for, as are bracketed IPv6 literals, a
trailing dot (``localhost.``) and international spellings (IDNA, as `requests` encodes them).

Checking at save time is not enough: DNS may answer differently when ACORN calls (rebinding), a redirect may
point elsewhere, and rows saved before a check existed are called too. So every call to a tenant-supplied
address goes through `guarded_session`: its connections resolve the host once, check every address, and
connect to exactly the addresses that were checked (the Host header, TLS SNI and certificate check stay with
the name); each redirect hop is a new connection and is checked the same way; no proxy is used (a proxy
would resolve the name itself).

Whether a development setting lets the simulator on 127.0.0.1 through (``allow_loopback``), and what a name
that does not resolve means at save time, is the caller's decision; what "public" means is decided here only.
"""

from __future__ import annotations

import ipaddress
import socket
import sys
from typing import Any, ClassVar
from urllib.parse import urlsplit

import idna
import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.timeout import _DEFAULT_TIMEOUT

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_LOCALHOST = (ipaddress.IPv4Address("127.0.0.1"), ipaddress.IPv6Address("::1"))
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address


class HostNotPublic(ValueError):
    """The host is, or resolves to, an address that is not on the public internet."""

    def __init__(self, host: str, address: str) -> None:
        super().__init__(f"{host} is not a public address ({address})")
        self.host = host
        self.address = address


class HostNotFound(ValueError):
    """The host name does not resolve (or is empty)."""

    def __init__(self, host: str) -> None:
        super().__init__(f"{host or '(no host)'} could not be resolved")
        self.host = host


class AddressRefused(requests.exceptions.RequestException):
    """A guarded session refused to connect: the host is, or resolves to, an address that is not public.
    Nothing was sent and nothing was received."""

    def __init__(self, refused: HostNotPublic, *, request: Any = None) -> None:
        super().__init__(str(refused), request=request)
        self.host = refused.host
        self.address = refused.address


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is where the traffic goes
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_is_public(address: IPAddress) -> bool:
    """True when ACORN's servers may call this address: globally routable and nothing else."""
    embedded = _embedded_ipv4(address)
    if embedded is not None and not address_is_public(embedded):
        return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_reserved
        or address.is_multicast
        or address.is_unspecified
    )


def _ipv4_number(part: str) -> int | None:
    """One part of an inet_aton address: decimal, 0x hexadecimal or 0 octal (digits only: no sign, no "_")."""
    if part[:2].lower() == "0x":
        digits, base, allowed = part[2:], 16, "0123456789abcdefABCDEF"
    elif len(part) > 1 and part.startswith("0"):
        digits, base, allowed = part[1:], 8, "01234567"
    else:
        digits, base, allowed = part, 10, "0123456789"
    if not digits or any(character not in allowed for character in digits):
        return None  # "0x" alone is no number to inet_aton either
    return int(digits, base)


def _ipv4_inet_aton(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address the C library's inet_aton (and so getaddrinfo and every HTTP client on it) reads in
    `host`: one to four parts, the last filling the remaining bytes ("127.1", "2130706433", "0x7f000001",
    "0177.0.0.1"); None when `host` is not such a number."""
    parts = host.split(".")
    if not 1 <= len(parts) <= 4 or any(not part for part in parts):
        return None
    numbers = [_ipv4_number(part) for part in parts]
    if any(number is None for number in numbers):
        return None
    values = [number for number in numbers if number is not None]
    *leading, last = values
    if any(value > 0xFF for value in leading) or last >= 1 << (8 * (5 - len(values))):
        return None
    total = last
    for index, value in enumerate(leading):
        total |= value << (8 * (3 - index))
    return ipaddress.IPv4Address(total)


def host_normalise(host: str) -> str:
    """The host as a resolver sees it: no brackets, no trailing dots, lower case, IDNA-encoded like `requests`
    does (so "ⓛocalhost" is "localhost"). A name IDNA refuses is kept as typed (it will not resolve)."""
    name = host.strip().strip("[]").rstrip(".").lower()
    if name.isascii():
        return name
    try:
        return idna.encode(name, uts46=True).decode("ascii")
    except idna.IDNAError:
        return name


def ip_literal(host: str) -> IPAddress | None:
    """The address `host` spells, in any form (IPv4 in every inet_aton spelling, IPv6 with or without brackets
    and zone), or None when it is a name."""
    name = host_normalise(host)
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])
    except ValueError:
        return _ipv4_inet_aton(name)


def resolve(host: str) -> list[IPAddress]:
    """Every address DNS gives for the name `host` (the one place netguard asks DNS: tests replace it).
    Raises HostNotFound."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise HostNotFound(host) from None
    addresses: list[IPAddress] = []
    for info in infos:
        address = ip_literal(str(info[4][0]))
        if address is not None and address not in addresses:
            addresses.append(address)
    return addresses


def host_addresses(host: str, *, allow_loopback: bool = False) -> list[IPAddress]:
    """The addresses `host` (a name or a literal in any spelling) stands for, each checked: HostNotPublic
    unless every one is public (or loopback, when `allow_loopback`: the simulator in development);
    HostNotFound when the host is empty or does not resolve. Asks DNS for a name; no other side effect."""
    name = host_normalise(host)
    if not name:
        raise HostNotFound(host)
    literal = ip_literal(name)
    if literal is not None:
        addresses: list[IPAddress] = [literal]
    elif name == "localhost" or name.endswith(".localhost"):
        addresses = list(_LOCALHOST)
    else:
        addresses = resolve(name)
    if not addresses:
        raise HostNotFound(host)
    for address in addresses:
        if not (address_is_public(address) or (allow_loopback and address.is_loopback)):
            raise HostNotPublic(host, str(address))
    return addresses


def host_ensure_public(host: str, *, allow_loopback: bool = False) -> None:
    """Raise HostNotPublic unless `host` stands only for public addresses (see `host_addresses`)."""
    host_addresses(host, allow_loopback=allow_loopback)


def url_host(url: str) -> str:
    """The host part of a URL, lower-case, without brackets or port ("" when there is none)."""
    return (urlsplit(url.strip()).hostname or "").lower()


# --- send time: connections that connect only to the addresses they checked ------------------------------


def _checked_socket(connection: HTTPConnection, *, allow_loopback: bool) -> socket.socket:
    """urllib3's connect step (which resolves the host on its own), replaced: resolve once, check every address,
    connect to one of those. Everything above the socket — Host header, TLS SNI, certificate check — still uses
    the name. A refused host raises HostNotPublic, which urllib3 neither retries nor wraps."""
    try:
        addresses = host_addresses(connection._dns_host, allow_loopback=allow_loopback)
    except HostNotFound as error:
        raise NameResolutionError(connection.host, connection, socket.gaierror(str(error))) from None
    last_error: OSError | None = None
    for address in addresses:
        sock = socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, socket.SOCK_STREAM)
        try:
            for option in connection.socket_options or ():
                sock.setsockopt(*option)
            if connection.timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(connection.timeout)
            if connection.source_address:
                sock.bind(connection.source_address)
            sock.connect((str(address), connection.port))
        except TimeoutError as error:
            sock.close()
            raise ConnectTimeoutError(
                connection, f"Connection to {connection.host} timed out. (connect timeout={connection.timeout})"
            ) from error
        except OSError as error:
            sock.close()
            last_error = error
            continue
        sys.audit("http.client.connect", connection, connection.host, connection.port)
        return sock
    raise NewConnectionError(connection, f"Failed to establish a new connection: {last_error}")


class _CheckedHTTPConnection(HTTPConnection):
    allow_loopback: ClassVar[bool] = False

    def _new_conn(self) -> socket.socket:
        return _checked_socket(self, allow_loopback=self.allow_loopback)


class _CheckedHTTPSConnection(HTTPSConnection):
    allow_loopback: ClassVar[bool] = False

    def _new_conn(self) -> socket.socket:
        return _checked_socket(self, allow_loopback=self.allow_loopback)


class _LoopbackHTTPConnection(_CheckedHTTPConnection):
    allow_loopback = True


class _LoopbackHTTPSConnection(_CheckedHTTPSConnection):
    allow_loopback = True


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _LoopbackHTTPPool(HTTPConnectionPool):
    ConnectionCls = _LoopbackHTTPConnection


class _LoopbackHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _LoopbackHTTPSConnection


class GuardedAdapter(HTTPAdapter):
    """A requests transport adapter whose connections go only to checked public addresses (see the module
    docstring); never through a proxy. A refused host raises AddressRefused before anything is sent."""

    def __init__(self, *, allow_loopback: bool = False, **kwargs: Any) -> None:
        self.allow_loopback = allow_loopback
        super().__init__(**kwargs)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = (
            {"http": _LoopbackHTTPPool, "https": _LoopbackHTTPSPool}
            if self.allow_loopback
            else {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}
        )

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["proxies"] = None  # a proxy would resolve the name itself, unchecked
        try:
            return super().send(request, *args, **kwargs)
        except HostNotPublic as refused:
            raise AddressRefused(refused, request=request) from None


def guarded_session(*, allow_loopback: bool = False) -> requests.Session:
    """A requests session for calling tenant-supplied URLs: every connection, redirects included, goes only to
    checked public addresses (loopback too when `allow_loopback`: the simulator in development and tests).
    Ignores proxy and CA settings from the environment (`trust_env` off); pass `verify` per call."""
    session = requests.Session()
    session.trust_env = False
    adapter = GuardedAdapter(allow_loopback=allow_loopback)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session
