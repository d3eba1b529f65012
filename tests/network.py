"""A pytest plugin that keeps every test off the network.

* Every test runs with ``socket.socket.connect`` guarded: a TCP connection to anything outside
  127.0.0.0/8 and ::1 is refused before a byte is sent, and recorded in :attr:`NetworkGuard.refused`
  (fixture ``network_guard``), so a test can prove where a client *tried* to go.
* Fixture ``fake_dns`` stubs name resolution (``socket.getaddrinfo``): names a test adds resolve to
  the answers it gives (one answer per lookup, the last repeating: DNS rebinding in one line); IP
  literals and ``localhost`` resolve as usual; any other name fails as an unknown host.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.fixture_types import Handler, RawServer

LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_original_connect = socket.socket.connect
_original_connect_ex = socket.socket.connect_ex
_original_getaddrinfo = socket.getaddrinfo


def is_loopback(host: str) -> bool:
    """True if ``host`` (an IP address as a socket sees it) is 127.0.0.0/8 or ::1."""
    try:
        address = ipaddress.ip_address(host.split("%")[0])
    except ValueError:
        return False
    return any(address in net for net in LOOPBACK)


@dataclass
class NetworkGuard:
    """What the guard refused during one test: ``(host, port)`` per refused connection attempt."""

    refused: list[tuple[str, int]] = field(default_factory=list)

    def check(self, sock: socket.socket, address: Any) -> None:
        if sock.family not in (socket.AF_INET, socket.AF_INET6):
            return  # unix sockets and the like stay on this machine
        host, port = str(address[0]), int(address[1])
        if not is_loopback(host):
            self.refused.append((host, port))
            raise ConnectionRefusedError(f"tests/network.py: no connection outside loopback ({host}:{port})")


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> NetworkGuard:
    """Refuse (and record) every TCP connection this process tries outside 127.0.0.0/8 and ::1."""
    guard = NetworkGuard()

    def connect(sock: socket.socket, address: Any) -> None:
        guard.check(sock, address)
        _original_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        guard.check(sock, address)
        return _original_connect_ex(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    return guard


class FakeDNS:
    """Answers for the names a test adds; see the module docstring."""

    def __init__(self) -> None:
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def add(self, name: str, *answers: list[str] | str) -> None:
        """Resolve ``name`` to each answer in turn (a list of addresses, or one address), the last repeating."""
        self.answers[name.lower()] = [[a] if isinstance(a, str) else list(a) for a in answers]

    def getaddrinfo(
        self, host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[tuple[Any, ...]]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        self.lookups.append(name)
        queue = self.answers.get(name.lower().rstrip("."))
        if queue is None:
            try:
                ipaddress.ip_address(name.split("%")[0])
            except ValueError:
                if name != "localhost":
                    raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known (fake DNS): {name}") from None
            return _original_getaddrinfo(host, port, family, type, proto, flags)
        addresses = queue[0] if len(queue) == 1 else queue.pop(0)
        infos = []
        for address in addresses:
            af = socket.AF_INET6 if ":" in address else socket.AF_INET
            sockaddr = (address, int(port or 0), 0, 0) if af == socket.AF_INET6 else (address, int(port or 0))
            infos.append((af, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr))
        return infos


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> FakeDNS:
    """Stub name resolution for this test (see :class:`FakeDNS`)."""
    dns = FakeDNS()
    monkeypatch.setattr(socket, "getaddrinfo", dns.getaddrinfo)
    return dns


@pytest.fixture
def raw_server() -> Iterator[RawServer]:
    """Start raw TCP servers on 127.0.0.1 that read a request's head and run ``handle(connection, head)``.

    Returns the port.

    For receivers that misbehave in ways a real HTTP framework will not: dripping headers, silence.
    """
    servers: list[socket.socket] = []

    def start(handle: Handler) -> int:
        server = socket.create_server(("127.0.0.1", 0))
        servers.append(server)

        def serve() -> None:
            while True:
                try:
                    conn, _ = server.accept()
                except OSError:
                    return
                with conn, contextlib.suppress(OSError):
                    conn.settimeout(10)
                    head = b""
                    while b"\r\n\r\n" not in head and len(head) < 65536:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        head += chunk
                    handle(conn, head.split(b"\r\n\r\n")[0])

        threading.Thread(target=serve, daemon=True).start()
        return int(server.getsockname()[1])

    yield start
    for server in servers:
        server.close()
