"""The preview step: the next messages a pipeline would send, rendered and not sent.

A preview reads from where the pipeline's next run would start
(:func:`~auth0_log_webhooks.run.reading.start_of_reading`: the checkpoint; without one, the configured
``start_from``, else just before the oldest log the tenant retains; a ``start_from`` param wins, as
for a run). It selects and shapes logs with a run's own code (the pipeline's filter, its
personal-data rules and reshaping, the staging encoding, the sender's message shaping in
:mod:`~auth0_log_webhooks.delivery.payloads`), and stops reading once it holds the messages asked
for. Each message is shown with the headers the sender would send
(:mod:`~auth0_log_webhooks.delivery.preview`). It sends nothing, writes no staging, moves no
checkpoint and takes no slot of the connection's rate cap: it only reads the tenant and the settings.

Doors: ``python -m auth0_log_webhooks preview <pipeline> [--messages N]`` (:func:`main`), and the
``preview`` trigger param, with which the fetch task renders into its log and the run delivers nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

from auth0_log_webhooks.delivery.payloads import Message
from auth0_log_webhooks.delivery.preview import Preview, render, shown_headers
from auth0_log_webhooks.delivery.sender import WebhookSender, open_sender
from auth0_log_webhooks.hooks.auth0 import Auth0Hook
from auth0_log_webhooks.pipelines.config import PipelineConfig
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.pipelines.pipelines_file import pipeline_named
from auth0_log_webhooks.pipelines.run_params import MAX_PREVIEW_MESSAGES, preview_messages
from auth0_log_webhooks.run.context import RunInfo, load_config
from auth0_log_webhooks.run.reading import LogSource, start_of_reading
from auth0_log_webhooks.run.staging import HeldBatches, Stager
from auth0_log_webhooks.run.variables import AirflowVariables, Variables

DEFAULT_MESSAGES = 1


def preview(
    pipeline: Pipeline,
    run: RunInfo,
    params: Mapping[str, Any] | None,
    messages: int,
    *,
    variables: Variables | None = None,
    hook: LogSource | None = None,
    sender: WebhookSender | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> Preview:
    """Return the first ``messages`` messages the pipeline's next run would send, with their headers; send nothing.

    ``params`` are a run's params (the ``preview`` param among them is ignored here): they shape the
    preview as they would shape the run.

    :raises: what the fetch step raises for the same settings and checkpoint (refused params, an invalid
        config Variable or checkpoint, an expired checkpoint under ``fail``), and what opening the
        webhook connection raises (a bad URL or signing secret, named).
    """
    variables = variables or AirflowVariables()
    source: LogSource = hook or Auth0Hook(pipeline.auth0_conn_id)
    settings = {key: value for key, value in (params or {}).items() if key != "preview"}
    config = load_config(pipeline, settings, variables).with_tenant(lambda: source.domain)
    checkpoint = variables.get(pipeline.checkpoint_variable)
    start, reason, _ = start_of_reading(pipeline, run, settings, config, checkpoint, source, now())
    sender = sender or open_sender(pipeline.webhook_conn_id, config, kind=pipeline.kind, rate_capped=False)
    held = HeldBatches()
    cut: list[Message] = []

    def enough() -> bool:
        for batch in held.batches[len(cut_batches) :]:
            cut_batches.append(batch)
            cut.extend(sender.policy.messages(batch))
        return len(cut) >= messages

    cut_batches: list[list[dict[str, Any]]] = []
    stopped = _Stopped()
    stager = Stager(
        held, pipeline.select(config), pipeline.transformer(), config.batch_size, config.max_logs_per_run, run.window
    )
    manifest = stager.run(_until(source.iter_log_pages(start), enough, stopped), start)
    enough()
    shown = tuple(cut[:messages])
    return Preview(
        dag_id=pipeline.dag_id,
        conn_id=pipeline.webhook_conn_id,
        url=sender.url,
        start=start,
        reason=reason,
        checkpoint=checkpoint,
        fetched=manifest.fetched,
        selected=manifest.selected,
        messages=shown,
        headers=tuple(shown_headers(sender, message, pipeline.webhook_conn_id) for message in shown),
        more=stopped.early or len(cut) > messages or manifest.more_to_read,
        asked=messages,
        settings=settings_clause(pipeline, config),
        gzip=config.gzip,
    )


class _Stopped:
    """Whether reading stopped because the preview had its messages (not because the tenant had no more)."""

    early = False


def _until(pages: Iterable[list[Any]], enough: Callable[[], bool], stopped: _Stopped) -> Iterator[list[Any]]:
    """Yield pages until ``enough()`` says the batches cut so far make the messages asked for."""
    for page in pages:
        if enough():
            stopped.early = True
            return
        yield page


def settings_clause(pipeline: Pipeline, config: PipelineConfig) -> str:
    """Return what shapes the messages, as a clause: format and batching, filters, personal-data rules."""
    fmt = {"json_array": "a JSON array", "json_lines": "JSON lines", "cloudevents": "CloudEvents 1.0"}[config.format]
    if config.send_as_batch:
        parts = [f"as {fmt} of up to {plural_logs(config.batch_size)} per request"]
    else:
        parts = [f"one request per log ({'a CloudEvent' if config.format == 'cloudevents' else 'a JSON object'})"]
    if config.log_streams_envelope:
        parts.append("each log in a Log Streams envelope")
    filters = [
        f"log types {', '.join(config.log_types)}" if config.log_types else "",
        f"level {config.log_level} and above" if config.log_level is not None else "",
        f"categories {', '.join(config.log_categories)}" if config.log_categories else "",
        f"endpoints {', '.join(config.api_endpoints)}" if config.api_endpoints else "",
    ]
    chosen = [part for part in filters if part]
    parts.append(f"selecting {'; '.join(chosen)}" if chosen else "selecting every log the pipeline's kind delivers")
    if pipeline.pii:
        rules = ", ".join(f"{rule.path} {_done(rule.method)}" for rule in pipeline.pii)
        parts.append(f"with personal data rules applied ({rules})")
    return ", ".join(parts)


def plural_logs(count: int) -> str:
    """Return ``1 log`` or ``100 logs``."""
    return f"{count:,} log" if count == 1 else f"{count:,} logs"


def _done(method: str) -> str:
    return {"mask": "masked", "hash": "hashed", "remove": "removed"}.get(method, method)


def main(argv: Sequence[str] | None = None, *, out: TextIO | None = None) -> int:
    """``preview PIPELINE [--messages N]``: print the next messages; exit 0, or 1 and a sentence saying what to fix.

    :param out: where the preview goes (default: stdout); errors go to stderr.
    """
    parser = argparse.ArgumentParser(
        prog="python -m auth0_log_webhooks preview",
        description="Show the next messages a pipeline would send, with their headers, and send nothing: no "
        "staging is written and the checkpoint does not move. Reads the tenant from the checkpoint, as the next "
        "run would.",
    )
    parser.add_argument("pipeline", help="the pipeline's DAG id, as in the pipelines file")
    parser.add_argument(
        "--messages",
        type=int,
        default=DEFAULT_MESSAGES,
        help=f"how many messages to show, 1-{MAX_PREVIEW_MESSAGES} (default {DEFAULT_MESSAGES})",
    )
    with contextlib.redirect_stdout(out or sys.stdout):  # --help is an answer too
        args = parser.parse_args(argv)
    try:
        count = preview_messages({"preview": args.messages})
        if count == 0:
            raise ValueError(f"--messages must be from 1 to {MAX_PREVIEW_MESSAGES}, not 0")
        pipeline = pipeline_named(args.pipeline)
        shown = preview(pipeline, RunInfo(dag_id=pipeline.dag_id, run_id="preview"), None, count)
    except Exception as exc:  # a person reads this: one sentence naming what to fix, never a traceback
        print(f"No preview of {args.pipeline}: {exc or type(exc).__name__}", file=sys.stderr)
        return 1
    print(render(shown), end="", file=out or sys.stdout)
    return 0
