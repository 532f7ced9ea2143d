"""The one guard against a tenant pointing ACORN's servers at a private network (server-side request forgery).

A store's site address and a warehouse's order endpoint are typed by tenants, and ACORN's servers then call
them. An address is public only when every address it stands for is public: a literal IP address is checked
as it is, a name is resolved and every address it resolves to is checked, and ``localhost`` (and any name
under ``.localhost``, RFC 6761) is loopback without asking DNS. The rule is the strictest of what the apps
used to check each on their own: an address is refused when it is private, loopback, link-local, reserved,
multicast, unspecified or otherwise not globally routable (carrier-grade NAT, documentation and benchmark
ranges), and an IPv6 address that wraps an IPv4 one (``::ffff:10.0.0.1``, 6to4, Teredo) is judged by the
IPv4 address inside it as well.

Whether a development setting lets the simulator on 127.0.0.1 through, and what a name that does not resolve
means, is the caller's decision; what "public" means is decided here only.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from urllib.parse import urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


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


def _embedded_ipv4(address: IPAddress) -> ipaddress.IPv4Address | None:
    if not isinstance(address, ipaddress.IPv6Address):
        return None
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]  # (server, client): the client is where the traffic goes
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


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _resolved(host: str) -> Iterable[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, None)
    except (OSError, UnicodeError):
        raise HostNotFound(host) from None
    for info in infos:
        literal = _literal(str(info[4][0]))
        if literal is not None:
            yield literal


def host_ensure_public(host: str) -> None:
    """Raise HostNotPublic unless `host` (a name or a literal address) stands only for public addresses;
    HostNotFound when it is empty or does not resolve. Asks DNS for a name; no other side effect."""
    name = host.strip().rstrip(".").lower()
    if not name:
        raise HostNotFound(host)
    if name == "localhost" or name.endswith(".localhost"):
        raise HostNotPublic(host, name)
    literal = _literal(name)
    addresses = [literal] if literal is not None else list(_resolved(name))
    if not addresses:
        raise HostNotFound(host)
    for address in addresses:
        if not address_is_public(address):
            raise HostNotPublic(host, str(address))


def url_host(url: str) -> str:
    """The host part of a URL, lower-case, without brackets or port ("" when there is none)."""
    return (urlsplit(url.strip()).hostname or "").lower()
