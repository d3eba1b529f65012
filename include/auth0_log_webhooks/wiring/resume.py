"""Resume a paused pipeline from the command line: ``python -m auth0_log_webhooks resume PIPELINE``.

It deletes the pipeline's auto-pause Variable in the metadata DB (run it where ``airflow variables``
works: the scheduler's or API server's machine, or any with the same Airflow configuration) and
prints what it did; the health page's Resume button and deleting the Variable by hand do the same.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TextIO

from auth0_log_webhooks.wiring.metadata_variables import MetadataVariables

USAGE = "usage: python -m auth0_log_webhooks resume PIPELINE"


def main(argv: Sequence[str], *, out: TextIO | None = None) -> int:
    """Resume the pipeline named in ``argv``; exit status 2 with the known pipelines for an unknown one.

    :param out: where what it did goes (default: stdout); errors go to stderr.
    """
    from auth0_log_webhooks.delivery.auto_pause import resume
    from auth0_log_webhooks.pipelines.pipelines_file import pipeline_named

    if len(argv) != 1 or argv[0].startswith("-"):
        print(USAGE, file=sys.stderr)
        return 2
    try:
        pipeline = pipeline_named(argv[0])
    except ValueError as exc:
        print(f"Nothing resumed: {exc}.", file=sys.stderr)
        return 2
    print(resume(pipeline, MetadataVariables()), file=sys.stdout if out is None else out)
    return 0
