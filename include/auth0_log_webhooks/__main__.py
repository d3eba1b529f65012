"""Commands of the package: ``migrate FILE`` (from Auth0's log extensions), ``preview PIPELINE`` (send nothing),
``trace LOG_ID`` (what happened to a log) and ``resume PIPELINE`` (after auto-pause).

``python -m auth0_log_webhooks preview PIPELINE [--messages N]`` prints the next messages a pipeline would
send, with their headers (:mod:`auth0_log_webhooks.steps.preview`). ``python -m auth0_log_webhooks trace
LOG_ID [--pipeline DAG_ID]`` says which pipeline read a log, whether a filter left it out, which message
carried it and each attempt's answer (:mod:`auth0_log_webhooks.wiring.trace_command`).
``python -m auth0_log_webhooks resume PIPELINE`` resumes a pipeline that auto-pause paused
(:mod:`auth0_log_webhooks.wiring.resume`).

The stdout of ``preview``, ``trace`` and ``resume`` is their answer alone, so that ``preview ... > next.txt``
or a pipe gets the messages (the trace, what the resume did) and nothing else: Airflow, once imported, writes
its log lines (and the Python warnings it turns into log lines, such as a secret too short to mask) to the
stdout it found at import, so while the command runs the process's stdout (file descriptor 1) points at
stderr, and the answer is written to the real stdout (:func:`answer_on_stdout`). Those lines are not
suppressed: a person may need them, on stderr.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from typing import TextIO

USAGE = (
    "usage: python -m auth0_log_webhooks migrate FILE [--kind authentication|management] [--id DAG_ID] [--out DIR]\n"
    "       python -m auth0_log_webhooks preview PIPELINE [--messages N]\n"
    "       python -m auth0_log_webhooks trace LOG_ID [--pipeline DAG_ID]\n"
    "       python -m auth0_log_webhooks resume PIPELINE"
)


@contextlib.contextmanager
def answer_on_stdout() -> Iterator[TextIO]:
    """Point the process's stdout at stderr while inside, and yield a stream to the real stdout for the answer.

    Whatever writes to file descriptor 1 meanwhile (Airflow's log handlers hold the ``sys.stdout`` of
    their configuration, a library may write to the descriptor itself) lands on stderr; stdout is restored
    on the way out.
    """
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    try:
        with open(os.dup(real), "w", encoding=sys.stdout.encoding or "utf-8", closefd=True) as answer:
            yield answer
    finally:
        sys.stdout.flush()
        os.dup2(real, 1)
        os.close(real)


def main(argv: Sequence[str] | None = None) -> int:
    """Run a command; exit status 2 and the usage for an unknown one."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["migrate"]:
        from auth0_log_webhooks.wiring.migration import main as migrate

        return migrate(args[1:])
    if args[:1] == ["preview"]:
        with answer_on_stdout() as answer:
            from auth0_log_webhooks.steps.preview import main as preview

            return preview(args[1:], out=answer)
    if args[:1] == ["trace"]:
        with answer_on_stdout() as answer:
            from auth0_log_webhooks.wiring.trace_command import main as trace

            return trace(args[1:], out=answer)
    if args[:1] == ["resume"]:
        with answer_on_stdout() as answer:
            from auth0_log_webhooks.wiring.resume import main as resume

            return resume(args[1:], out=answer)
    print(USAGE, file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
