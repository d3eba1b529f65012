"""``make demo``: the Authentication API webhooks DAG end to end, on this machine only.

Starts the Auth0 tenant emulator (with live traffic) and the webhook sink, then ``airflow
standalone`` in ``.demo/airflow`` with airflow_settings.yaml applied and the connections pointed at
the two local servers; triggers the DAG twice and prints what the sink received, the checkpoint and
the most webhook calls seen in flight. A local alerts receiver (standing in for Slack) is wired as the
connection ``auth0_alerts_default`` with success notices on, and the demo prints the notices it got.
Everything it started is stopped at the end (``make demo ARGS=--keep`` leaves Airflow running for a
look at the UI).

Airflow takes a minute to start on an idle machine and much longer on a busy one: the demo waits for
each step (Airflow answering, the DAG parsed, the first run started, each run finished) as long as
``--wait-minutes`` (or ``DEMO_WAIT_MINUTES``; 20 by default) allows, saying every 30 s what it waits
for, and if a step takes longer it stops with one sentence saying what to do.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from auth0_log_webhooks.monitoring.alarms import ALERTS_VARIABLE
from auth0_log_webhooks.pipelines.definition import AUTHENTICATION_API
from auth0_log_webhooks.wording import plural, when
from dev.airflow_env import REPO, AirflowStandalone
from dev.alerts_receiver import AlertsReceiver
from dev.auth0_tenant.testing import start_emulator
from dev.waiting import Waiter, WaitTimeout
from dev.webhook_sink.app import start_sink
from dev.webhook_sink.config import SinkConfig

DAG_ID = AUTHENTICATION_API.dag_id
WAIT_ENV = "DEMO_WAIT_MINUTES"
DEFAULT_WAIT_MINUTES = 20


def say(message: str) -> None:
    """Print a progress line, its time in UTC as Airflow's run ids, the checkpoint and the notices give theirs."""
    print(f"[demo {time.strftime('%H:%M:%S', time.gmtime())}] {message}", flush=True)


def connections(
    tenant_domain: str, client_id: str, client_secret: str, sink_url: str, secret: str, alerts_url: str
) -> dict[str, Any]:
    """Return airflow_settings.yaml-style entries pointing at the local emulator, sink and alerts receiver."""
    host, port = tenant_domain.split(":")
    return {
        "auth0_default": {
            "conn_type": "auth0",
            "conn_host": host,
            "conn_port": int(port),
            "conn_login": client_id,
            "conn_password": client_secret,
            "conn_extra": {"scheme": "http"},
        },
        "auth0_webhook_default": {
            "conn_type": "auth0_webhook",
            "conn_host": sink_url,
            "conn_password": "Bearer demo-token",
            "conn_extra": {"signing_secret": secret, "timeout": 10, "allow_private_network": True},
        },
        "auth0_alerts_default": {
            "conn_type": "auth0_webhook",
            "conn_host": alerts_url,
            "conn_extra": {"signing_secret": secret, "allow_private_network": True},
        },
    }


def _sent(lane: dict[str, Any]) -> str:
    """Return what the fetch's delivery lane sent, in words: ``5,211 logs in 53 requests``."""
    return f"{plural(int(lane['delivered_logs']), 'log')} in {plural(int(lane['requests']), 'request')}"


def report_run(airflow: AirflowStandalone, waiter: Waiter, run_id: str, started: float, since: str = "") -> str:
    """Wait for a run, print what its tasks did and return its state; ``since`` names the moment ``started`` is."""
    state = waiter.until(f"run {run_id} to finish", lambda: airflow.finished_state(DAG_ID, run_id))
    tis = airflow.task_instances(DAG_ID, run_id)
    delivered = sorted(
        (ti for ti in tis if ti["task_id"] == "deliver" and ti["state"] != "skipped"), key=lambda ti: ti["map_index"]
    )
    tasks = plural(len(delivered), "mapped delivery task")
    lane = airflow.lane_report(DAG_ID, run_id)
    if lane is None:  # deliver_while_fetching off: the delivery tasks sent everything
        sent = tasks
    elif delivered:
        sent = f"the fetch sent {_sent(lane)} while it read, and {tasks} sent the rest"
    else:
        sent = f"the fetch sent {_sent(lane)} while it read, so no delivery task was needed"
    say(f"run {run_id}: {state} {time.monotonic() - started:.0f} s after {since or 'it was asked for'}: {sent}")
    for ti in delivered[:3]:
        say(f"  deliver[{ti['map_index']}] {ti.get('rendered_map_index') or ''}: {ti['state']}")
    if len(delivered) > 3:
        say(f"  ... and {len(delivered) - 3} more")
    return state


def webhook_lines(summary: dict[str, Any], slots: int = 5) -> list[str]:
    """Return what the webhook sink received, in two sentences with their numbers."""
    return [
        f"the webhook got {plural(summary['logs_received'], 'log')} in {plural(summary['requests'], 'request')} "
        f"({plural(summary['webhook_ids'], 'webhook id')}): {summary['unique_log_ids']:,} distinct, "
        f"{plural(summary['duplicate_log_ids'], 'duplicate')}, {plural(summary['bad_signatures'], 'bad signature')}",
        f"at most {plural(summary['max_in_flight'], 'webhook call')} in flight (the pool auth0_webhooks allows "
        f"{slots:,}: the fetch sends one batch at a time while it reads, and each delivery task one)",
    ]


def tenant_line(counters: dict[str, int]) -> str:
    """Return what the tenant emulator served, in a sentence: log reads, tokens and 429s."""
    return (
        f"the Auth0 tenant emulator served {plural(counters['log_requests'], 'log read')} and "
        f"{plural(counters['tokens_issued'], 'token')}; it answered {plural(counters['rate_limited'], '429')} "
        "(the fetch keeps within Auth0's rate limit)"
    )


def notices_heading(notices: int, demo_runs: int, all_runs: int) -> str:
    """Return the line above the notices: how many, and the runs they are for (a tick may add one)."""
    heading = f"the alerts receiver got {plural(notices, 'notice')} from the connection auth0_alerts_default"
    ticks = all_runs - demo_runs
    if ticks > 0:
        return (
            f"{heading}, one per run: the demo's {demo_runs} and {ticks} the scheduler started at a 5-minute tick "
            "while the demo ran:"
        )
    return f"{heading}, one per run:"


def report_notices(alerts: AlertsReceiver, runs: int, all_runs: int | None = None, timeout: float = 60.0) -> int:
    """Print the notices the alerts receiver got (a success notice per run is expected); return how many.

    ``all_runs`` is every run of the DAG, the demo's ``runs`` and any a scheduled tick added meanwhile.
    """
    expected = max(runs, all_runs or 0)
    deadline = time.monotonic() + timeout
    while len(alerts.notices) < expected and time.monotonic() < deadline:
        time.sleep(0.5)
    notices = list(alerts.notices)
    say(notices_heading(len(notices), runs, expected))
    for notice in notices:
        say(f"  {notice.get('event')}: {notice.get('text')}")
    return len(notices)


def first_run(airflow: AirflowStandalone, waiter: Waiter) -> str:
    """Return the run id of the scheduled run Airflow starts when the DAG is unpaused."""

    def started() -> str | None:
        runs = airflow.api("GET", f"/dags/{DAG_ID}/dagRuns")["dag_runs"]
        return str(runs[0]["dag_run_id"]) if runs else None

    return waiter.until("the scheduler to start the first run", started)


def start_airflow(airflow: AirflowStandalone, waiter: Waiter) -> None:
    """Start ``airflow standalone`` and wait until its API answers."""
    airflow.launch()
    waiter.until(f"Airflow to start and answer at {airflow.url}", airflow.ready)


def gave_up(exc: Exception, airflow: AirflowStandalone, minutes: float) -> str:
    """Return the one sentence the demo ends with when Airflow was too slow or stopped."""
    log = airflow.home / "standalone.log"
    if isinstance(exc, WaitTimeout):
        longer = max(2 * minutes, DEFAULT_WAIT_MINUTES)
        return (
            f"The demo {exc} (the limit is {minutes:g} min per step): on a busy machine Airflow needs longer, so run "
            f"`make demo ARGS='--wait-minutes {longer:g}'` (or set {WAIT_ENV}={longer:g}), and read {log} to see "
            "what Airflow was doing."
        )
    return f"The demo stopped because {exc}: read {log} for the cause, then run `make demo` again."


def what_went_wrong(states: list[str], bad_signatures: int, notices: int, airflow: AirflowStandalone) -> str | None:
    """Return the sentence the demo ends with when its runs did not do what it shows; None when they did."""
    problems = []
    if states != ["success"] * len(states):
        problems.append(f"its runs ended {', '.join(states)}")
    if bad_signatures:
        problems.append(f"the sink saw {plural(bad_signatures, 'bad signature')}")
    if notices < len(states):
        problems.append(f"the alerts receiver got {plural(notices, 'notice')} for {plural(len(states), 'run')}")
    if not problems:
        return None
    return (
        f"The demo ran, but {' and '.join(problems)}: read the failed task's log under {airflow.home / 'logs'}, "
        "or run `make demo ARGS=--keep` to look at the runs in the Airflow UI."
    )


def finished_line(seconds: float, runs: int, summary: dict[str, Any], checkpoint: str) -> str:
    """Return the sentence a demo that did what it shows ends with: what happened, then the next step."""
    once = "each once" if summary["duplicate_log_ids"] == 0 else f"{summary['duplicate_log_ids']:,} twice or more"
    return (
        f"The demo took {seconds:.0f} s: {plural(runs, 'run')} delivered {plural(summary['unique_log_ids'], 'log')} "
        f"({once}) and moved the checkpoint to {checkpoint}. Next: `make demo ARGS=--keep` to look at the runs in "
        "the Airflow UI, or docs/installing.md to install the package into your own Airflow."
    )


def main(
    argv: list[str] | None = None,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> int:
    """Run the demo; return a process exit code."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--logs", type=int, default=5000, help="logs on the emulated tenant at start")
    parser.add_argument("--events-per-second", type=float, default=5.0, help="live traffic on the tenant")
    parser.add_argument("--keep", action="store_true", help="leave Airflow running at the end")
    parser.add_argument(
        "--wait-minutes",
        type=float,
        default=os.environ.get(WAIT_ENV) or str(DEFAULT_WAIT_MINUTES),
        help=f"how long to wait for each step of Airflow before giving up (env {WAIT_ENV}; default %(default)s)",
    )
    parser.add_argument("--workdir", type=Path, default=REPO / ".demo", help="where everything is kept (emptied first)")
    args = parser.parse_args(argv)
    if args.wait_minutes <= 0:
        parser.error(f"--wait-minutes must be a positive number of minutes, not {args.wait_minutes:g}")
    waiter = Waiter(args.wait_minutes * 60, report=say, clock=clock, sleep=sleep)

    workdir = args.workdir
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir()
    secret = "whsec_" + base64.b64encode(os.urandom(32)).decode()

    tenant = start_emulator(logs=args.logs, seed=42, events_per_second=args.events_per_second)
    sink = start_sink(
        SinkConfig(record_path=workdir / "sink.jsonl", secrets=(secret,), authorization="Bearer demo-token")
    )
    today = time.gmtime()
    say(f"make demo, {today.tm_mday} {time.strftime('%b %Y', today)} (times UTC)")
    say(f"Auth0 tenant emulator at {tenant.url} ({plural(args.logs, 'log')}, {args.events_per_second:g} new a second)")
    say(f"webhook sink at {sink.url}/hook (records to {workdir / 'sink.jsonl'})")
    alerts = AlertsReceiver()
    say(f"alerts receiver (a stand-in for Slack) at {alerts.url}")
    airflow = AirflowStandalone(workdir / "airflow")
    failure = None
    closing = None
    began = clock()
    try:
        say(f"starting airflow standalone in {airflow.home} (about a minute, longer on a busy machine)")
        start_airflow(airflow, waiter)
        say(f"Airflow UI and API at {airflow.url}")
        config = {
            "batch_size": 100,
            "staging_url": f"file://{workdir}/staging",
            "dead_letter_url": f"file://{workdir}/dead_letters",
        }
        airflow.apply_settings(
            connections=connections(
                tenant.domain, tenant.client_id, tenant.client_secret, f"{sink.url}/hook", secret, alerts.url
            )
        )
        # Success notices too (the original's SLACK_SEND_SUCCESS), so every run sends one.
        airflow.set_variable(ALERTS_VARIABLE, json.dumps({"notify_success": True}))
        airflow.set_variable(AUTHENTICATION_API.config_variable, json.dumps(config))
        waiter.until(f"the dag-processor to parse {DAG_ID}", lambda: airflow.dag_parsed(DAG_ID))
        # A webhook that takes 200 ms to answer, so deliveries overlap and the pool's bound shows.
        sink.state.add_faults({"delay_seconds": 0.2})
        started = time.monotonic()
        airflow.unpause(DAG_ID)
        say("unpaused the DAG: the scheduler starts the run of the latest 5-minute tick")
        states = [report_run(airflow, waiter, first_run(airflow, waiter), started, "unpausing")]
        say("triggering a second run, as the UI's Trigger button does (it delivers the live traffic since)")
        started = time.monotonic()
        states.append(report_run(airflow, waiter, airflow.trigger(DAG_ID), started, "the trigger"))
        summary = sink.state.summary()
        for line in webhook_lines(summary):
            say(line)
        checkpoint = airflow.variable(AUTHENTICATION_API.checkpoint_variable)
        say(f"checkpoint {AUTHENTICATION_API.checkpoint_variable} = {checkpoint} ({when(checkpoint)})")
        say(tenant_line(tenant.counters()))
        all_runs = int(airflow.api("GET", f"/dags/{DAG_ID}/dagRuns", params={"limit": 1})["total_entries"])
        notices = report_notices(alerts, len(states), all_runs)
        if args.keep:
            say(f"Airflow keeps running at {airflow.url}; press Ctrl-C to stop")
            while True:
                time.sleep(3600)
        # A scheduled tick during the demo adds a run, and so a notice, of its own.
        failure = what_went_wrong(states, summary["bad_signatures"], notices, airflow)
        if not failure:
            closing = finished_line(clock() - began, all_runs, summary, when(checkpoint))
        return 1 if failure else 0
    except KeyboardInterrupt:
        return 130
    except (WaitTimeout, RuntimeError, requests.RequestException) as exc:
        failure = gave_up(exc, airflow, args.wait_minutes)
        return 1
    finally:
        airflow.stop()
        sink.stop()
        alerts.stop()
        tenant.stop()
        say(f"stopped everything; Airflow's logs stay in {airflow.home / 'logs'}")
        if failure or closing:
            say(failure or closing or "")  # last, so it is what a person reads


if __name__ == "__main__":
    raise SystemExit(main())
