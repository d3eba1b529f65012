"""Where HTTP requests may go: one host parser, and a destination policy checked at connect time.

In the spirit of Stripe's smokescreen and Svix's SSRF guard:

* :func:`parse_target` is the only URL parser used for checks, and it is urllib3's own
  (``urllib3.util.parse_url``), the one requests connects with, so a check and the connection can
  never disagree about the host (``evil.example:80\\@127.0.0.1`` is ``evil.example`` to both).
  Hosts are refused unless they are lowercase-able DNS names of ``[a-z0-9-]`` labels, dotted-quad
  IPv4 or bracketed IPv6; credentials in the URL are refused (connections hold them).
* :class:`EgressPolicy` decides by scheme and by address: https is required unless the host is
  loopback or the connection sets ``allow_insecure_http``. Every address a name resolves to is
  checked when the socket is opened (:class:`GuardedAdapter`), and the socket connects to exactly
  the addresses checked, so DNS rebinding cannot swap them.

Address classes (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, IPv4-translated
``::ffff:0:a.b.c.d``, NAT64, 6to4 and Teredo IPv6 addresses are judged by the IPv4 address they
embed):

* always refused: link-local (``169.254.0.0/16``, ``fe80::/10``), cloud metadata endpoints
  (``169.254.169.254``, ``fd00:ec2::254``, ``100.100.100.200``), unspecified, multicast, broadcast
  and reserved addresses;
* refused unless the connection sets ``allow_private_network``: loopback, private (RFC 1918,
  ``fc00::/7``), CGNAT (``100.64.0.0/10``) and every other address that is not globally routable;
* allowed: globally routable addresses.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from requests.utils import select_proxy
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import LocationParseError, NameResolutionError
from urllib3.util import parse_url

from auth0_log_webhooks.http.attempt_deadlines import before_sending, bound_connect_timeout, watch_socket

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)
_DOTTED_QUAD = re.compile(
    r"(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])(?:\.(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])){3}"
)
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254", "100.100.100.200", "169.254.170.2")
)
CGNAT = ipaddress.ip_network("100.64.0.0/10")
NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
LOW_32_BITS = (ipaddress.ip_network("::/96"), ipaddress.ip_network("::ffff:0:0:0/96"))
"""IPv4-compatible (RFC 4291, deprecated) and IPv4-translated (RFC 2765) addresses: IPv4 in the last 32 bits."""
POLICY_EXTRAS = ("allow_private_network", "allow_insecure_http")
_sending: ContextVar[str | None] = ContextVar("auth0_log_webhooks_sending", default=None)


class InvalidTargetError(ValueError):
    """A URL or host this client will not parse or connect to (malformed, or outside the strict charset)."""


class EgressRefusedError(Exception):
    """The destination policy refused a URL; the message names the URL and the rule.

    Deliberately not an ``OSError``: urllib3 must not retry it or wrap it as a network error.
    """


@dataclass(frozen=True)
class Target:
    """A URL as urllib3 will connect to it: scheme, lowercase host (no brackets), port and path."""

    scheme: str
    host: str
    port: int
    path: str
    query: str

    @property
    def address(self) -> IPAddress | None:
        """The host as an IP address, or None for a DNS name."""
        try:
            return ipaddress.ip_address(self.host)
        except ValueError:
            return None

    @property
    def is_loopback_host(self) -> bool:
        """True for ``localhost`` and loopback IP literals (the host as written, not resolved)."""
        address = self.address
        return self.host == "localhost" or (address is not None and address.is_loopback)

    def endpoint(self) -> tuple[str, str, int, str]:
        """Scheme, host, port and path: what two URLs must share to be the same endpoint."""
        return self.scheme, self.host, self.port, self.path or "/"

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}{self.path or '/'}"


def _valid_host(host: str) -> str:
    """Return the host lowercased and without brackets, or raise if it is outside the strict charset."""
    if host.startswith("[") and host.endswith("]"):
        if "%" in host:
            raise InvalidTargetError(f"host {host!r} has an IPv6 zone id, which is not accepted")
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            raise InvalidTargetError(f"host {host!r} is not an IPv6 address") from None
        return str(address)
    name = host.lower().removesuffix(".")
    labels = name.split(".")
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise InvalidTargetError(
            f"host {host[:80]!r} has characters outside a-z, 0-9, '-' and '.' (or an empty or too long label)"
        )
    if labels[-1].isdigit() and not _DOTTED_QUAD.fullmatch(name):
        raise InvalidTargetError(f"host {host!r} is a numeric host that is not a dotted-quad IPv4 address")
    return name


def parse_target(url: str) -> Target:
    """Parse a URL exactly as urllib3 (and so requests) connects to it, and check its host strictly.

    :raises InvalidTargetError: naming the URL and what is wrong with it.
    """
    shown = url[:200] if isinstance(url, str) else repr(url)
    if not isinstance(url, str) or not url.isascii() or any(c.isspace() or ord(c) < 32 for c in url):
        raise InvalidTargetError(f"URL {shown!r} must be ASCII without spaces or control characters")
    try:
        parts = parse_url(url)
    except (LocationParseError, ValueError) as exc:
        raise InvalidTargetError(f"URL {shown!r} cannot be parsed: {exc}") from None
    scheme = (parts.scheme or "").lower()
    if scheme not in DEFAULT_PORTS:
        raise InvalidTargetError(f"URL {shown!r} must start with https:// (or http:// where allowed)")
    if parts.auth is not None:
        raise InvalidTargetError(f"URL {shown.split('@')[-1]!r} carries credentials; put them in the connection")
    if not parts.host:
        raise InvalidTargetError(f"URL {shown!r} has no host")
    port = parts.port if parts.port is not None else DEFAULT_PORTS[scheme]
    if not 0 < port < 65536:
        raise InvalidTargetError(f"URL {shown!r} has port {port}, outside 1-65535")
    return Target(scheme, _valid_host(parts.host), port, parts.path or "", parts.query or "")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """Return the IPv4 address an IPv4-mapped, -compatible or -translated, NAT64, 6to4 or Teredo address carries."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if int(address) > 1 and any(address in net for net in (*NAT64, *LOW_32_BITS)):  # not :: or ::1
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    return None


def _always_refused(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata endpoint"
    if address.is_link_local:
        return "a link-local address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address.is_reserved:  # 240.0.0.0/4, broadcast included
        return "a reserved or broadcast address"
    return None


def address_class(address: IPAddress) -> tuple[str, str]:
    """Return ``("public" | "private" | "forbidden", rule)`` for an address (see the module docstring)."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind, rule = address_class(embedded)
            if kind != "public":
                return kind, f"{rule} ({embedded}) embedded in {address}"
    forbidden = _always_refused(address)
    if forbidden:
        return "forbidden", forbidden
    if address.is_loopback:
        return "private", "a loopback address"
    if isinstance(address, ipaddress.IPv4Address) and address in CGNAT:
        return "private", "a carrier-grade NAT (100.64.0.0/10) address"
    if isinstance(address, ipaddress.IPv6Address) and address.is_reserved and not address.is_global:
        return "forbidden", "a reserved address"
    if address.is_private or not address.is_global:
        return "private", "a private or non-routable address"
    return "public", "a public address"


def _flag(extra: Mapping[str, Any], key: str, conn_id: str) -> bool:
    value = extra.get(key, False)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"Connection {conn_id!r}: extra {key} must be true or false, not {str(value)[:40]!r}")


@dataclass(frozen=True)
class EgressPolicy:
    """Which destinations a connection may reach (both off by default)."""

    allow_private_network: bool = False
    allow_insecure_http: bool = False

    @classmethod
    def from_extra(cls, extra: Mapping[str, Any], conn_id: str) -> EgressPolicy:
        """Read the connection extras ``allow_private_network`` and ``allow_insecure_http`` (true/false).

        :raises ValueError: naming the connection and the extra if a value is not a boolean.
        """
        return cls(
            allow_private_network=_flag(extra, "allow_private_network", conn_id),
            allow_insecure_http=_flag(extra, "allow_insecure_http", conn_id),
        )

    def check_url(self, url: str) -> Target:
        """Check a URL's scheme and, for an IP literal, its address; return the parsed target.

        :raises InvalidTargetError: for a malformed URL or host.
        :raises EgressRefusedError: naming the URL and the rule that refuses it.
        """
        target = parse_target(url)
        if target.scheme == "http" and not (target.is_loopback_host or self.allow_insecure_http):
            raise EgressRefusedError(
                f"Refusing {target}: plain http sends the Authorization header and the logs in clear text. "
                'Use https, or turn on "Allow plain http" in the connection (extra allow_insecure_http).'
            )
        if target.address is not None:
            self.check_address(target.address, target)
        return target

    def check_address(self, address: IPAddress, target: Target | str) -> None:
        """Refuse an address the policy does not allow, naming the target and the rule."""
        kind, rule = address_class(address)
        if kind == "forbidden":
            raise EgressRefusedError(f"Refusing {target}: {address} is {rule}, which is never allowed.")
        if kind == "private" and not self.allow_private_network:
            raise EgressRefusedError(
                f"Refusing {target}: {address} is {rule}. If this webhook really is on your own network, "
                'turn on "Allow a private network address" in the connection (extra allow_private_network).'
            )

    def resolve(self, host: str, port: int, target: str) -> list[str]:
        """Resolve ``host`` and check every address it has; return them (connect only to these).

        :raises socket.gaierror: if the name does not resolve.
        :raises EgressRefusedError: if any address is refused (one bad answer refuses the name).
        """
        infos = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        addresses = list(dict.fromkeys(str(info[4][0]) for info in infos))
        for text in addresses:
            self.check_address(ipaddress.ip_address(text.split("%")[0]), target)
        return addresses


class _GuardedConnectionMixin:
    """Resolve, check and connect to the checked addresses only; bound the connect by the deadline; run the
    current sending gate once connected, just before the first byte goes out."""

    egress: EgressPolicy | None = None
    _dns_host: str
    host: str
    port: int
    timeout: Any

    def _new_conn(self) -> socket.socket:
        target = _sending.get() or f"{self.host}:{self.port}"
        self.timeout = bound_connect_timeout(self.timeout)
        if self.egress is None:
            sock: socket.socket = super()._new_conn()  # type: ignore[misc]
        else:
            try:
                addresses = self.egress.resolve(self._dns_host, self.port, target)
            except socket.gaierror as exc:
                raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
            sock = self._connect_first(addresses)
        watch_socket(sock)
        return sock

    def _connect_first(self, addresses: list[str]) -> socket.socket:
        name = self._dns_host
        error: Exception | None = None
        try:
            for address in addresses:
                self._dns_host = address
                try:
                    sock: socket.socket = super()._new_conn()  # type: ignore[misc]
                    return sock
                except OSError as exc:  # urllib3's NewConnectionError and ConnectTimeoutError are OSErrors
                    error = exc
        finally:
            self._dns_host = name
        raise error or OSError(f"{self.host} resolved to no address")

    def request(self, *args: Any, **kwargs: Any) -> None:
        sock = getattr(self, "sock", None)
        if sock is not None:  # a kept-alive connection: bound this request by the current deadline too
            watch_socket(sock)
        else:  # connect now (http.client would on the first byte), so that only the bytes follow the gate
            self.connect()  # type: ignore[attr-defined]
        before_sending()  # the last moment before the first byte: the rate cap's turn (attempt_deadlines)
        super().request(*args, **kwargs)  # type: ignore[misc]


def _pool_classes(egress: EgressPolicy | None) -> dict[str, type[HTTPConnectionPool]]:
    attrs = {"egress": egress}
    http = type("GuardedHTTPConnection", (_GuardedConnectionMixin, HTTPConnection), attrs)
    https = type("GuardedHTTPSConnection", (_GuardedConnectionMixin, HTTPSConnection), attrs)
    return {
        "http": type("GuardedHTTPConnectionPool", (HTTPConnectionPool,), {"ConnectionCls": http}),
        "https": type("GuardedHTTPSConnectionPool", (HTTPSConnectionPool,), {"ConnectionCls": https}),
    }


class GuardedAdapter(HTTPAdapter):
    """A requests adapter whose connections obey an :class:`EgressPolicy` (or none) and the current deadline.

    :param egress: the destination policy; None checks no address (the deadline still applies).
    """

    def __init__(
        self, egress: EgressPolicy | None = None, *, socket_options: list[Any] | None = None, **kwargs: Any
    ) -> None:
        self.socket_options = socket_options
        self.egress = egress
        self._pool_classes = _pool_classes(egress)
        self._proxy_pool_classes = _pool_classes(None)  # to a proxy: the deadline only (see send)
        super().__init__(**kwargs)

    def send(self, request: PreparedRequest, *args: Any, **kwargs: Any) -> Response:
        """Send as HTTPAdapter does, naming the URL (without query) in any refusal.

        Through a proxy the socket goes to the proxy, so the target's addresses are checked here,
        before sending (the proxy resolves the name again: configure its own egress rules too).
        """
        try:
            shown: str | None = str(parse_target(request.url or ""))
        except InvalidTargetError:
            shown = None
        if self.egress is not None and select_proxy(request.url or "", kwargs.get("proxies") or {}):
            target = parse_target(request.url or "")
            if target.address is not None:
                self.egress.check_address(target.address, target)
            else:
                self.egress.resolve(target.host, target.port, str(target))
        token = _sending.set(shown)
        try:
            return super().send(request, *args, **kwargs)
        finally:
            _sending.reset(token)

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = self._proxy_pool_classes
        return manager

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        if self.socket_options is not None:  # e.g. HttpHook's TCP keep-alive options
            kwargs["socket_options"] = self.socket_options
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pool_classes
