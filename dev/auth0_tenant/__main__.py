"""Command line: ``python -m dev.auth0_tenant --port 0 --logs 100000 --seed 7``."""

from __future__ import annotations

import argparse
import dataclasses

from dev.auth0_tenant.app import create_app
from dev.auth0_tenant.config import DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET, DEFAULT_SCOPE, TenantConfig
from dev.server import serve_forever


def parse_args(argv: list[str] | None = None) -> tuple[str, int, TenantConfig]:
    """Parse the CLI into host, port and a :class:`TenantConfig`."""
    parser = argparse.ArgumentParser(prog="python -m dev.auth0_tenant", description="Local Auth0 tenant emulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (announced on stdout)")
    parser.add_argument("--client-id", default=DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--logs", type=int, default=1000, help="logs present at start-up")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--token-ttl", type=int, default=86400, help="access token lifetime in seconds")
    parser.add_argument("--rate-limit-burst", type=int, default=10)
    parser.add_argument("--rate-limit-per-minute", type=float, default=100, help="0 disables rate limiting")
    parser.add_argument("--retention-days", type=float, default=30)
    parser.add_argument("--history-days", type=float, default=1, help="how far back the start-up logs go")
    parser.add_argument("--events-per-second", type=float, default=0, help="live traffic rate")
    parser.add_argument("--scope", default=DEFAULT_SCOPE, help="scopes granted to the client")
    parser.add_argument("--tenant-name", default="emulator-tenant")
    on_off = argparse.BooleanOptionalAction
    parser.add_argument("--token-logs", action=on_off, default=True, help="seccft/feccft logs for token requests")
    parser.add_argument("--api-limit-logs", action=on_off, default=True, help="api_limit logs for 429s")
    parser.add_argument("--rate-limit-headers", action=on_off, default=True, help="X-RateLimit-* even when off")
    args = parser.parse_args(argv)
    # Every option but host and port is a TenantConfig field of the same name.
    values = vars(args)
    config = TenantConfig(**{f.name: values[f.name] for f in dataclasses.fields(TenantConfig)})
    return args.host, args.port, config


def main(argv: list[str] | None = None) -> None:
    """Serve the emulator in the foreground until interrupted."""
    host, port, config = parse_args(argv)
    serve_forever(create_app(config), host, port)


if __name__ == "__main__":
    main()
