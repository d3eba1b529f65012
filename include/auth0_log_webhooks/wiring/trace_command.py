"""The trace command: ``python -m auth0_log_webhooks trace <log_id> [--pipeline P]`` answers what happened to a log.

It reads the pipelines file, each pipeline's settings and checkpoint from Airflow's Variables
(``AIRFLOW_VAR_<NAME>`` environment variables first, then the metadata DB), the delivery log and the
dead letters where the settings put them, and refetches the log from the pipeline's Auth0 connection
to check its filters (:mod:`auth0_log_webhooks.monitoring.trace`). Run it where Airflow is installed
and configured: a scheduler or worker container, or ``astro dev bash``.

Exit status: 0 when it answered, 2 for a value that is not a log id or an unknown pipeline.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any, TextIO

from auth0_log_webhooks.monitoring.trace import InvalidLogIdError, trace
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.pipelines_file import load_pipelines
from auth0_log_webhooks.run.variables import Variables

WIDTH = 100


def refetch(pipeline: Pipeline, log_id: str) -> Mapping[str, Any] | None:
    """Return the log from the pipeline's tenant (None when Auth0 no longer has it)."""
    from auth0_log_webhooks.hooks.auth0 import Auth0Hook

    return Auth0Hook(pipeline.auth0_conn_id).log_by_id(log_id)


def parser() -> argparse.ArgumentParser:
    """Return the command's argument parser."""
    command = argparse.ArgumentParser(
        prog="python -m auth0_log_webhooks trace",
        description="Say what happened to an Auth0 log: which pipeline read it, whether a filter left it out, "
        "which message carried it, each attempt and its answer, or how to replay it.",
    )
    command.add_argument("log_id", help="the log's log_id: 56 digits starting with 900")
    command.add_argument("--pipeline", help="only this pipeline (its DAG id); default: every pipeline")
    return command


def main(argv: Sequence[str] | None = None, *, variables: Variables | None = None, out: TextIO | None = None) -> int:
    """Print the trace of a log, a paragraph per pipeline; return the exit status.

    :param out: where the trace goes (default: stdout); errors go to stderr.
    """
    out = sys.stdout if out is None else out
    args = parser().parse_args(argv)
    pipelines = load_pipelines().pipelines
    if args.pipeline is not None:
        if args.pipeline not in pipelines:
            known = ", ".join(sorted(pipelines)) or "none"
            print(
                f"There is no pipeline {args.pipeline!r} in the pipelines file; its pipelines are: {known}.",
                file=sys.stderr,
            )
            return 2
        pipelines = {args.pipeline: pipelines[args.pipeline]}
    if variables is None:
        from auth0_log_webhooks.wiring.metadata_variables import MetadataVariables

        variables = MetadataVariables()
    try:
        traces = trace(args.log_id, pipelines, variables, fetch_log=refetch)
    except InvalidLogIdError as exc:
        print(exc, file=sys.stderr)
        return 2
    for index, found in enumerate(traces):
        if index:
            print(file=out)
        print(textwrap.fill(found.text, width=WIDTH, break_long_words=False, break_on_hyphens=False), file=out)
    return 0
