"""The health page: per pipeline, whether it is paused (with a Resume button), the checkpoint as a date,
the lag, logs delivered per run over 24 hours (failed runs counted, the last one named), dead letters
kept, replayed and waiting (with a one-click replay), the 429 answers waited out (from Auth0 and from
the webhook) and the last errors. Served inside the Airflow UI by ``wiring/health_plugin.py``; this
module gathers and renders, so it is tested without a web server.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from auth0_log_webhooks.delivery import auto_pause
from auth0_log_webhooks.delivery.auto_pause import PauseState
from auth0_log_webhooks.delivery.dead_letters import DeadLetterSummary
from auth0_log_webhooks.delivery.failure_advice import REPLAY_DAG_ID, replay_config
from auth0_log_webhooks.monitoring import run_history
from auth0_log_webhooks.monitoring.run_history import ReplayPoint, RunPoint, Window
from auth0_log_webhooks.monitoring.trace import PipelineTrace
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.variables import Variables
from auth0_log_webhooks.wording import duration, log_id_time, plural, when

WINDOW = timedelta(hours=24)
LAST_ERRORS = 5
"""The newest dead letters the page reads (and shows the reasons of); the others are only counted."""


@dataclass
class PipelineHealth:
    """What the page shows for one pipeline."""

    dag_id: str
    title: str
    checkpoint: str | None
    now: datetime
    runs: list[RunPoint] = field(default_factory=list)
    lag_at_last_commit: float | None = None
    waiting: DeadLetterSummary = field(default_factory=lambda: DeadLetterSummary([], []))
    replays: list[ReplayPoint] = field(default_factory=list)
    pause: PauseState | None = None
    """The auto-pause state: failing messages in a row and, once paused, since when (None: none failing)."""
    may_resume: bool = True
    """Whether the signed-in user may change the pipeline's DAG, which resuming it needs (else no Resume button)."""

    @property
    def window(self) -> Window:
        """Return the last 24 hours' runs and replays with their sums."""
        return Window(self.runs, self.replays)

    def checkpoint_age(self) -> float | None:
        """Return how old the checkpoint's log is now, in seconds."""
        moment = log_id_time(self.checkpoint)
        return None if moment is None else max(0.0, (self.now - moment).total_seconds())

    def waiting_text(self) -> str:
        """Return the dead letters waiting: ``2 entries (30 logs)``, or ``340 entries`` if only the newest were read."""
        entries = plural(self.waiting.count, "entry", "entries")
        if not self.waiting.complete:
            return entries
        return f"{entries} ({plural(sum(len(letter.log_ids) for letter in self.waiting.newest), 'log')})"

    def last_errors(self) -> list[str]:
        """Return the newest dead letters' reasons, newest first, as sentences."""
        newest = sorted(self.waiting.newest, key=lambda letter: letter.created_at, reverse=True)[:LAST_ERRORS]
        return [
            f"{_utc(letter.created_at)}: {plural(len(letter.log_ids), 'log')} kept, {letter.reason} "
            f"(run {letter.run_id})"
            for letter in newest
        ]


def _utc(iso: str) -> str:
    """Return an ISO timestamp as ``2026-11-26 14:02:00 UTC`` (as it is, if it does not parse)."""
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        return iso
    return (moment.astimezone(UTC) if moment.tzinfo else moment).strftime("%Y-%m-%d %H:%M:%S UTC")


def _number(value: Any) -> float | None:
    """Return a finite, non-negative number from an asset event's extra, or None for anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) and 0 <= value < 1e15 else None


def gather(
    pipelines: Mapping[str, Pipeline],
    *,
    variables: Variables,
    events: Callable[[Pipeline, datetime], list[tuple[datetime, Mapping[str, Any]]]],
    dead_letters: Callable[[Pipeline], DeadLetterSummary],
    now: datetime | None = None,
) -> list[PipelineHealth]:
    """Collect every pipeline's health: Variables, the last 24 hours of asset events, failed runs and
    replays (:mod:`~auth0_log_webhooks.monitoring.run_history`), the dead letters."""
    moment = now or datetime.now(UTC)
    result = []
    for pipeline in pipelines.values():
        recent = [(at, extra if isinstance(extra, Mapping) else {}) for at, extra in events(pipeline, moment - WINDOW)]
        last = max(recent, key=lambda event: event[0])[1] if recent else {}
        day = run_history.window(variables, pipeline.dag_id, recent, moment - WINDOW)
        result.append(
            PipelineHealth(
                dag_id=pipeline.dag_id,
                title=pipeline.title,
                checkpoint=variables.get(pipeline.checkpoint_variable),
                now=moment,
                runs=day.runs,
                lag_at_last_commit=_number(last.get("lag_seconds")),
                waiting=dead_letters(pipeline),
                replays=day.replays,
                pause=auto_pause.parse_state(variables.get(auto_pause.state_variable(pipeline.dag_id)))[0],
            )
        )
    return result


# -- rendering ---------------------------------------------------------------------------------


def chart(runs: Sequence[RunPoint], now: datetime, width: int = 720, height: int = 160) -> str:
    """Return an SVG bar chart of logs delivered per run over the last 24 hours (dead letters in red)."""
    if not runs:
        return '<p class="empty">No run ended in the last 24 hours.</p>'
    start, top = now - WINDOW, max(max(r.logs + r.dead_letters for r in runs), 1)
    bars = []
    for run in runs:
        x = max(0.0, (run.at - start).total_seconds() / WINDOW.total_seconds()) * (width - 6)
        h_ok, h_dead = run.logs / top * (height - 20), run.dead_letters / top * (height - 20)
        outcome = ", failed" if run.failed else ""
        label = html.escape(
            f"{run.at:%H:%M} UTC: {plural(run.logs, 'log')}, {plural(run.dead_letters, 'dead letter')}{outcome}"
        )
        # A failed run gets a red cap, so a run that delivered nothing still shows.
        top_y = height - h_ok - h_dead - 4
        cap = f'<rect class="failed" x="{x:.1f}" y="{top_y:.1f}" width="5" height="4" fill="#c53030"/>'
        bars.append(
            f'<g><title>{label}</title><rect x="{x:.1f}" y="{height - h_ok:.1f}" width="5" height="{h_ok:.1f}" '
            f'fill="#2f855a"/><rect x="{x:.1f}" y="{height - h_ok - h_dead:.1f}" width="5" height="{h_dead:.1f}" '
            f'fill="#c53030"/>{cap if run.failed else ""}</g>'
        )
    axis = (
        f'<text x="0" y="12" font-size="11">{top:,} logs</text>'
        f'<text x="0" y="{height + 14}" font-size="11">{start:%Y-%m-%d %H:%M} UTC</text>'
        # anchored at its end, so the date ends at the chart's right edge whatever the font's width
        f'<text x="{width}" y="{height + 14}" font-size="11" text-anchor="end">{now:%Y-%m-%d %H:%M} UTC</text>'
    )
    return (
        f'<svg class="chart" role="img" aria-label="logs delivered per run, last 24 hours" width="{width}" '
        f'height="{height + 18}" viewBox="0 0 {width} {height + 18}">{axis}{"".join(bars)}</svg>'
    )


def _stat(label: str, value: str) -> str:
    return f'<div class="stat"><div class="label">{html.escape(label)}</div><div class="value">{value}</div></div>'


def _age(seconds: float | None) -> str:
    return "unknown" if seconds is None else html.escape(duration(seconds))


def rate_limited_text(runs: Sequence[RunPoint]) -> str:
    """Return the 429 answers of the runs: ``3 from Auth0, none from the webhook`` (``none`` when there were none)."""
    auth0, webhook = sum(r.auth0_429 for r in runs), sum(r.webhook_429 for r in runs)
    if not auth0 and not webhook:
        return "none"

    def part(count: int, source: str) -> str:
        return f"{count:,} from {source}" if count else f"none from {source}"

    return f"{part(auth0, 'Auth0')}, {part(webhook, 'the webhook')}"


def pause_html(health: PipelineHealth) -> str:
    """Return the pipeline's pause: since when, why and the Resume button; its failing streak; or nothing."""
    state = health.pause
    if state is None:
        return ""
    if not state.paused:
        return (
            f'<p class="failing">{html.escape(plural(state.failing_messages, "message"))} in a row failed since '
            f"{state.failing_since:%Y-%m-%d %H:%M:%S} UTC (the last: {html.escape(state.last_answer())}).</p>"
        )
    sentence = auto_pause.status_sentence(health.dag_id, state)
    if health.may_resume:
        action = (
            f'<button class="resume" data-dag="{html.escape(health.dag_id)}">Resume {html.escape(health.dag_id)}'
            "</button>"
        )
    else:
        command = f"{auto_pause.RESUME_COMMAND} {health.dag_id}"
        action = (
            html.escape(
                f"You may read {health.dag_id} but not change it, so you cannot resume it: ask someone whose Airflow "
                f"role may edit the DAG {health.dag_id} to press Resume on this page or to run "
            )
            + f"<code>{html.escape(command)}</code>."
        )
    return f'<div class="paused"><p><strong>Paused.</strong> {html.escape(sentence)}</p><p>{action}</p></div>'


def section(health: PipelineHealth) -> str:
    """Return one pipeline's section of the page."""
    day = health.window
    last_failure = day.last_failure_text()
    stats = "".join(
        [
            _stat("Checkpoint", html.escape(when(health.checkpoint))),
            _stat("Checkpoint age", _age(health.checkpoint_age())),
            _stat("Lag at last commit", _age(health.lag_at_last_commit)),
            _stat(
                "Delivered, last 24 h",
                f"{plural(day.delivered, 'log')} in {html.escape(day.runs_text())}"
                if day.runs
                else "none: no run ended",
            ),
            _stat("Dead letters, last 24 h", html.escape(day.dead_letters_text())),
            _stat("429s waited out, last 24 h", html.escape(rate_limited_text(health.runs))),
            _stat("Dead letters waiting", html.escape(health.waiting_text())),
        ]
    )
    conf = replay_config(health.dag_id, health.waiting.entry_ids)
    replay = (
        f'<p><button class="replay" data-conf="{html.escape(conf)}">Replay '
        f"{plural(health.waiting.count, 'dead letter')}</button> triggers {REPLAY_DAG_ID} with "
        f"<code>{html.escape(conf)}</code></p>"
        if health.waiting.count
        else "<p>No dead letters waiting.</p>"
    )
    errors = "".join(f"<li>{html.escape(line)}</li>" for line in health.last_errors()) or "<li>None.</li>"
    failure = (
        f'<p class="failure">Last failed run: {html.escape(last_failure)}</p>'
        if last_failure
        else "<p>No run failed in the last 24 hours.</p>"
    )
    return (
        f'<section id="{html.escape(health.dag_id)}"><h2>{html.escape(health.title)} '
        f'<small>{html.escape(health.dag_id)}</small></h2>{pause_html(health)}<div class="stats">{stats}</div>{failure}'
        f"<h3>Logs delivered per run, last 24 hours</h3>{chart(health.runs, health.now)}"
        f"<h3>Dead letters</h3>{replay}<h3>Last errors</h3><ul>{errors}</ul></section>"
    )


STYLE = """
body{font-family:system-ui,sans-serif;margin:16px;color:#1a202c;max-width:960px}
h2 small{font-weight:normal;color:#718096;font-size:0.7em}
.stats{display:flex;flex-wrap:wrap;gap:12px}.stat{border:1px solid #e2e8f0;border-radius:6px;padding:8px 12px}
.label{font-size:12px;color:#718096}.value{font-size:16px}li{overflow-wrap:anywhere}
p.failure{color:#c53030;overflow-wrap:anywhere}
code{overflow-wrap:anywhere}div.paused code{white-space:nowrap}button.replay,button.resume{padding:6px 12px}
div.paused{border:2px solid #c05621;border-radius:6px;padding:4px 12px;margin-bottom:12px;overflow-wrap:anywhere}
p.failing{color:#c05621}
div.resumed{border:2px solid #2f855a;border-radius:6px;padding:4px 12px;margin-bottom:12px;overflow-wrap:anywhere}
form.trace{margin:12px 0}form.trace input{width:36em;max-width:100%;padding:4px;font-family:monospace}
section.trace p{overflow-wrap:anywhere}p.error{color:#c53030}
"""

TRACE_FORM = (
    '<form class="trace" action="{action}" method="get"><label>Trace a log: '
    '<input name="log_id" value="{value}" placeholder="a log_id: 56 digits starting with 900" '
    'autocomplete="off" spellcheck="false"></label> <button type="submit">Trace</button> '
    "<small>which pipeline read it, whether a filter left it out, which message carried it and each "
    "answer</small></form>"
)


def trace_form(action: str, value: str = "") -> str:
    """Return the search box that traces a log (``action``: the trace page's URL, relative to this page)."""
    return TRACE_FORM.format(action=html.escape(action), value=html.escape(value))


SCRIPT = f"""
for (const button of document.querySelectorAll("button.replay")) {{
  button.addEventListener("click", async () => {{
    const response = await fetch("/api/v2/dags/{REPLAY_DAG_ID}/dagRuns", {{
      method: "POST", credentials: "same-origin", headers: {{"Content-Type": "application/json"}},
      body: JSON.stringify({{logical_date: null, conf: JSON.parse(button.dataset.conf)}}),
    }});
    button.textContent = response.ok ? "Replay triggered" : "Replay failed: HTTP " + response.status;
  }});
}}
for (const button of document.querySelectorAll("button.resume")) {{
  button.addEventListener("click", async () => {{
    const base = location.pathname.endsWith("/") ? location.pathname : location.pathname + "/";
    const response = await fetch(base + "resume/" + encodeURIComponent(button.dataset.dag), {{
      method: "POST", credentials: "same-origin",
    }});
    const answer = await response.json().catch(() => ({{}}));
    if (response.ok) {{  // the paused sentence no longer holds: the box now says what the resume did
      const box = button.closest("div.paused"), said = document.createElement("p");
      // the message is the CLI's sentence: a `command` in it shows as code, each piece set as text, never as HTML
      (answer.message || "Resumed.").split("`").forEach((piece, index) => {{
        const part = index % 2 ? document.createElement("code") : document.createTextNode(piece);
        if (index % 2) part.textContent = piece;
        said.append(part);
      }});
      box.className = "resumed";
      box.replaceChildren(said);
      return;
    }}
    button.textContent = "Resume failed: HTTP " + response.status;
    button.insertAdjacentText("afterend", " " + (answer.detail || ""));
  }});
}}
"""


def page(healths: Sequence[PipelineHealth], now: datetime) -> str:
    """Return the whole health page (self-contained HTML: no external assets)."""
    body = "".join(section(h) for h in healths) or (
        "<p>No pipeline to show: none is defined, or your Airflow role may not read the DAG of any.</p>"
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Auth0 log webhooks: health</title>'
        f"<style>{STYLE}</style></head><body><h1>Auth0 log webhooks: health</h1>"
        f"<p>As of {now:%Y-%m-%d %H:%M:%S} UTC.</p>{trace_form('trace')}{body}<script>{SCRIPT}</script></body></html>"
    )


TRACE_HEADINGS = {
    "delivered": "delivered",
    "dead_letter": "a dead letter",
    "not_delivered": "not delivered",
    "filtered": "left out by a filter",
    "read_not_sent": "read, not sent yet",
    "before_checkpoint": "from before the checkpoint",
    "not_read_yet": "not read yet",
    "no_delivery_log": "no delivery log",
    "not_in_tenant": "no such log in Auth0",
    "unavailable": "cannot say",
}


def trace_page(log_id: str, traces: Sequence[PipelineTrace], error: str | None, now: datetime) -> str:
    """Return the answer to the health page's search box: a section per pipeline the user may read."""
    if error is not None:
        body = f'<p class="error">{html.escape(error)}</p>'
    elif not traces:
        body = "<p>No pipeline to trace: none is defined, or your Airflow role may not read the DAG of any.</p>"
    else:
        body = "".join(
            f'<section class="trace" id="{html.escape(t.pipeline)}"><h2>{html.escape(t.pipeline)}: '
            f"{html.escape(TRACE_HEADINGS.get(t.verdict, t.verdict))}</h2>"
            + "".join(f"<p>{html.escape(sentence)}</p>" for sentence in t.sentences)
            + "</section>"
            for t in traces
        )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Auth0 log webhooks: trace a log</title>'
        f"<style>{STYLE}</style></head><body><h1>Auth0 log webhooks: trace a log</h1>"
        f'<p>As of {now:%Y-%m-%d %H:%M:%S} UTC. <a href="./">Back to the health page</a>.</p>'
        f"{trace_form('trace', log_id)}{body}</body></html>"
    )


def as_json(healths: Sequence[PipelineHealth]) -> list[dict[str, Any]]:
    """Return the page's numbers as JSON (for scripts and tests)."""
    return [
        {
            "dag_id": h.dag_id,
            "checkpoint": h.checkpoint,
            "checkpoint_time": when(h.checkpoint),
            "checkpoint_age_seconds": h.checkpoint_age(),
            "lag_at_last_commit_seconds": h.lag_at_last_commit,
            "runs_24h": len(h.runs),
            "failed_runs_24h": len(h.window.failed),
            "last_failure": h.window.last_failure_text(),
            "dead_letters_kept_24h": h.window.dead_letters_kept,
            "dead_letters_replayed_24h": h.window.replayed,
            "runs": [
                {
                    "at": r.at.isoformat(),
                    "logs": r.logs,
                    "dead_letters": r.dead_letters,
                    "auth0_429": r.auth0_429,
                    "webhook_429": r.webhook_429,
                    "run_id": r.run_id,
                    "failed": r.failed,
                }
                for r in h.runs
            ],
            "logs_delivered_24h": h.window.delivered,
            "auth0_429_24h": sum(r.auth0_429 for r in h.runs),
            "webhook_429_24h": sum(r.webhook_429 for r in h.runs),
            "dead_letters_waiting": h.waiting.count,
            "replay_config": json.loads(replay_config(h.dag_id, h.waiting.entry_ids)),
            "last_errors": h.last_errors(),
            "paused": bool(h.pause and h.pause.paused),
            "paused_since": h.pause.paused_at.isoformat() if h.pause and h.pause.paused_at else None,
            "failing_messages": h.pause.failing_messages if h.pause else 0,
            "failing_since": h.pause.failing_since.isoformat() if h.pause else None,
        }
        for h in healths
    ]
