"""The trigger form: the per-run params "Trigger DAG w/ config" offers, with the titles and help it shows.

Which params a pipeline declares is ``pipelines/run_params.py``'s; this module says how the form shows
them. Each accepts what the form sends (text) and the JSON a REST or CLI trigger sends: a boolean for
``send_as_batch``, a list for ``log_types`` and ``api_endpoints``. Airflow validates a trigger's conf
against these schemas before it creates the run.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

from auth0_log_webhooks.pipelines.run_params import MAX_PREVIEW_MESSAGES as MAX_MESSAGES
from auth0_log_webhooks.pipelines.run_params import run_params

ONE_OFF = (
    "Different from the config Variable, this is a one-off run: it delivers what it selects and leaves the "
    "checkpoint alone, so scheduled runs still deliver every log."
)
"""What the form says of every param that narrows what a run selects (docs/guarantees.md, "Runs with params")."""

SCHEMA_DIALECT = "http://json-schema.org/draft-07/schema#"
"""The JSON Schema draft each param's schema declares. Airflow validates every param of a DAG when it builds the
DAG, and jsonschema checks the param's schema against its draft's metaschema each time: against 2020-12 (the
default) that was half of building a pipeline's DAG, about 2.8 ms of CPU more than draft-07 per DAG, 0.3 s of a
parse of 100 pipelines. These schemas use only keywords both drafts read alike (a unit test checks that both
accept and refuse the same values)."""


def trigger_params(kind: str = "authentication") -> dict[str, Param]:
    """Return the per-run overrides "Trigger DAG w/ config" offers a pipeline of this kind; each left empty
    keeps the config Variable's value.

    Titles and descriptions are what the trigger form shows; a choice's empty option is labelled with
    what it means (``values_display``), so the form never offers a bare "null".
    """
    config = "the config Variable's value"

    def optional(types: str | list[str], title: str, description: str, **schema: Any) -> Param:
        listed = [types] if isinstance(types, str) else types
        declared: dict[str, Any] = {"$schema": SCHEMA_DIALECT, "type": ["null", *listed], "title": title, **schema}
        return Param(None, description=description, schema=declared)

    text_or_list = {"items": {"type": "string"}}
    every = {
        "start_from": optional(
            "string",
            "Start from",
            "A log id or an ISO date (2026-11-01 or 2026-11-01T12:00:00Z) to read from. Set, this is a one-off run: "
            "it delivers from there and leaves the checkpoint alone. Empty: a triggered run reads on from the "
            "pipeline's checkpoint; a backfill run reads its own date range.",
        ),
        "log_types": optional(
            ["string", "array"],
            "Log types",
            f"Comma-separated log type codes to deliver, e.g. s,f,fp (LOG_TYPES), or a JSON list. {ONE_OFF} "
            f"Empty: {config} (by default every type but the Management API's sapi and fapi).",
            **text_or_list,
        ),
        "log_level": optional(
            "integer",
            "Minimum log level",
            f"Deliver logs of this level and above: 0 debug, 1 info, 2 warning, 3 error, 4 critical "
            f"(LOG_LEVEL). {ONE_OFF} Empty: {config} (by default no level filter).",
            minimum=0,
            maximum=4,
        ),
        "log_categories": optional(
            ["string", "array"],
            "Log Streams categories",
            "Comma-separated Auth0 Log Streams categories to deliver, e.g. auth.login.fail,user.fail, or a Log "
            'Stream\'s filters pasted as is: [{"type": "category", "name": "auth.login.fail"}]. Added to the log '
            f"types and level above. {ONE_OFF} Empty: {config} (by default no category filter).",
        ),
        "batch_size": optional(
            "integer",
            "Batch size",
            f"Logs per batch, 1-1000 (BATCH_SIZE). Empty: {config} (default 100).",
            minimum=1,
            maximum=1000,
        ),
        "api_endpoints": optional(
            ["string", "array"],
            "API endpoints",
            "Comma-separated Management API endpoints whose calls to deliver, e.g. users,connections "
            f"(AUTH0_API_ENDPOINTS), or a JSON list. {ONE_OFF} Empty: {config} (by default every endpoint).",
            **text_or_list,
        ),
        "endpoint_match": optional(
            "string",
            "Endpoint match",
            f"How an endpoint matches a request path. {ONE_OFF} Empty: {config} (default: by path segment).",
            enum=[None, "segment", "substring"],
            values_display={
                None: "As configured (default: by path segment)",
                "segment": "By path segment: users matches /api/v2/users and below",
                "substring": "Anywhere in the path, as the original extension did",
            },
        ),
        # Text with suggestions rather than a choice: the form's dropdown cannot show a selected boolean,
        # and a REST or CLI trigger sends true or false as JSON.
        "send_as_batch": optional(
            ["string", "boolean"],
            "Send as batch",
            "true: one request per batch; false: one request per log (SEND_AS_BATCH). "
            f"Empty: {config} (default: one request per batch).",
            pattern="^(true|false)$",
            examples=["true", "false"],
        ),
        "format": optional(
            "string",
            "Body format",
            f"A JSON array per request, one JSON object per line (application/x-ndjson), or CloudEvents 1.0 "
            f"(application/cloudevents-batch+json, one event per log). Empty: {config} (default: JSON array).",
            enum=[None, "json_array", "json_lines", "cloudevents"],
            values_display={
                None: "As configured (default: JSON array)",
                "json_array": "JSON array",
                "json_lines": "JSON lines (NDJSON)",
                "cloudevents": "CloudEvents 1.0",
            },
        ),
        "max_logs_per_run": optional(
            "integer",
            "Most logs in this run",
            f"Stop reading after this many logs; the next run goes on. Empty: {config} (default 100,000).",
            minimum=1,
        ),
        "preview": optional(
            "integer",
            "Preview only: messages to show",
            f"Render the next this-many messages (1-{MAX_MESSAGES}) into the fetch task's log, with the headers "
            "they would carry (the signature and the Authorization header shown as present, never their values), "
            "and send nothing: the run stages nothing, delivers nothing and leaves the checkpoint where it is. "
            "The other params shape the preview as they would shape a run. Empty: an ordinary run (0 too).",
            minimum=0,
            maximum=MAX_MESSAGES,
        ),
    }
    return {name: every[name] for name in run_params(kind)}
