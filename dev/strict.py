"""Unexpected requests to the dev servers fail the test that made them (used by ``dev/*/testing.py``).

The emulator records every request no route matched (unknown path, wrong method, unknown
``/__emulator/`` endpoint); the sink every request it does not serve (a delivery that is not a POST,
an unknown ``/__sink/`` endpoint). The fixtures hand those to :func:`fail_on_unexpected` at teardown.
A test that sends them on purpose says so with ``@pytest.mark.allow_unexpected_requests``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

ALLOW_MARKER = "allow_unexpected_requests"
SHOWN = 5

Seen = Mapping[str, Sequence[tuple[str, str]]]


def describe_unexpected(seen: Seen) -> str | None:
    """Name the first :data:`SHOWN` unexpected requests of each server; None if there were none.

    :param seen: a server's name and URL -> the (method, path) of each unexpected request it saw.
    """
    parts = []
    for server, requests in seen.items():
        if not requests:
            continue
        shown = ", ".join(f"{method} {path}" for method, path in requests[:SHOWN])
        more = f" and {len(requests) - SHOWN} more" if len(requests) > SHOWN else ""
        parts.append(f"the {server} got {len(requests)} unexpected request(s): {shown}{more}")
    return "; ".join(parts) or None


def fail_on_unexpected(node: pytest.Item, seen: Seen) -> None:
    """Fail the test ``node`` if a server saw unexpected requests, unless it is marked to allow them.

    :raises pytest.fail.Exception: naming the method and path of the first few requests.
    """
    message = describe_unexpected(seen)
    if message is None or node.get_closest_marker(ALLOW_MARKER) is not None:
        return
    pytest.fail(f"{message}; mark the test @pytest.mark.{ALLOW_MARKER} if it sends them on purpose", pytrace=False)
