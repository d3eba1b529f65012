"""Commands of the package: ``migrate FILE`` (from Auth0's log extensions), ``preview PIPELINE`` (send nothing),
``trace LOG_ID`` (what happened to a log) and ``resume PIPELINE`` (after auto-pause).

``python -m auth0_log_webhooks preview PIPELINE [--messages N]`` prints the next messages a pipeline would
send, with their headers (:mod:`auth0_log_webhooks.steps.preview`). ``python -m auth0_log_webhooks trace
LOG_ID [--pipeline DAG_ID]`` says which pipeline read a log, whether a filter left it out, which message
carried it and each attempt's answer (:mod:`auth0_log_webhooks.wiring.trace_command`).
``python -m auth0_log_webhooks resume PIPELINE`` resumes a pipeline that auto-pause paused
(:mod:`auth0_log_webhooks.wiring.resume`).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

USAGE = (
    "usage: python -m auth0_log_webhooks migrate FILE [--kind authentication|management] [--id DAG_ID] [--out DIR]\n"
    "       python -m auth0_log_webhooks preview PIPELINE [--messages N]\n"
    "       python -m auth0_log_webhooks trace LOG_ID [--pipeline DAG_ID]\n"
    "       python -m auth0_log_webhooks resume PIPELINE"
)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; exit status 2 and the usage for an unknown one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["migrate"]:
        from auth0_log_webhooks.wiring.migration import main as migrate

        return migrate(args[1:])
    if args[:1] == ["preview"]:
        from auth0_log_webhooks.steps.preview import main as preview

        return preview(args[1:])
    if args[:1] == ["trace"]:
        from auth0_log_webhooks.wiring.trace_command import main as trace

        return trace(args[1:])
    if args[:1] == ["resume"]:
        from auth0_log_webhooks.wiring.resume import main as resume

        return resume(args[1:])
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
