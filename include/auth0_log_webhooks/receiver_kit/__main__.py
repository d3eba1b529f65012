"""The receiver kit's command: ``python -m auth0_log_webhooks.receiver_kit check DIR``.

Checks the messages a :class:`~.receiving.MessageStore` holds in ``DIR`` against their manifests and
prints what is missing; exit status 0 when complete, 1 when not, 2 for a usage error. The signing
secrets (``whsec_...``, space separated when rotating) come from ``--secret`` or the environment
variable ``WEBHOOK_SECRET``; without one, signatures are not checked (and the output says so).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from auth0_log_webhooks.receiver_kit.completeness import check, render
from auth0_log_webhooks.receiver_kit.receiving import MessageStore


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; return its exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m auth0_log_webhooks.receiver_kit",
        description="Check the messages a receiver stored against the sender's signed completeness manifests.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    checking = commands.add_parser("check", help="print what is missing and whether the manifests' chain is intact")
    checking.add_argument("folder", help="the folder of stored messages (one <webhook-id>.json each)")
    checking.add_argument(
        "--secret",
        action="append",
        default=[],
        help="a whsec_ signing secret (repeat when rotating); default: WEBHOOK_SECRET, space separated",
    )
    checking.add_argument("--limit", type=int, default=100, help="how many missing messages to name (default 100)")
    args = parser.parse_args(argv)
    if not os.path.isdir(args.folder):
        print(f"{args.folder} is not a folder: give the folder the receiver stores its messages in.", file=sys.stderr)
        return 2
    secrets = args.secret or os.environ.get("WEBHOOK_SECRET", "").split()
    try:
        report = check(MessageStore(args.folder), secrets)
    except ValueError as exc:
        print(f"{exc}; nothing was checked.", file=sys.stderr)
        return 2
    print(render(report, limit=args.limit))
    return 0 if report.complete else 1


if __name__ == "__main__":
    sys.exit(main())
