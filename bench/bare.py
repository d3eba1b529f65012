"""The same fetch and delivery as the pipeline, written with plain ``requests`` and no library.

The yardstick for the library's overhead: a client-credentials token, ``GET /api/v2/logs`` pages
of 100 from the cursor before the oldest log, following the ``Link`` header until a short page;
then ``POST`` JSON arrays of 100 logs to the sink from 5 threads. Pages are kept in memory (no
staging, no ledger, no signing, no retries).
"""

from __future__ import annotations

import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from bench.pipeline import DELIVERY_SLOTS, EndToEndResult

PAGE_SIZE = 100
EXCLUDED_TYPES = frozenset({"sapi", "fapi"})


def _cursor_before(date: str) -> str:
    """Return a log-id cursor five minutes before an ISO date (``900`` + yyyyMMddHHmmss + zeros)."""
    moment = datetime.fromisoformat(date.replace("Z", "+00:00")).astimezone(UTC) - timedelta(minutes=5)
    return "900" + moment.strftime("%Y%m%d%H%M%S") + "0" * 39


def bare_fetch(base_url: str, client_id: str, client_secret: str) -> tuple[list[list[dict[str, Any]]], int]:
    """Return every log after the oldest one's cursor as pages of 100, and the GETs sent."""
    session = requests.Session()
    token = session.post(
        f"{base_url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client_id,
            "client_secret": client_secret,
            "audience": f"{base_url.replace('http://', 'https://')}/api/v2/",
        },
        timeout=30,
    )
    token.raise_for_status()
    session.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
    oldest = session.get(f"{base_url}/api/v2/logs", params={"sort": "date:1", "per_page": "1", "page": "0"}, timeout=30)
    oldest.raise_for_status()
    gets = 1
    url: str | None = f"{base_url}/api/v2/logs"
    params: dict[str, Any] | None = {"from": _cursor_before(oldest.json()[0]["date"]), "take": PAGE_SIZE}
    pages: list[list[dict[str, Any]]] = []
    while url:
        response = session.get(url, params=params, timeout=30)
        gets += 1
        response.raise_for_status()
        page = response.json()
        if page:
            pages.append(page)
        if len(page) < PAGE_SIZE:
            break
        url, params = response.links.get("next", {}).get("url"), None
    session.close()
    return pages, gets


def bare_deliver(hook_url: str, pages: list[list[dict[str, Any]]]) -> tuple[int, int]:
    """POST the selected logs as JSON arrays of 100 from ``DELIVERY_SLOTS`` threads.

    The selection is the pipeline's default: everything but Management API operations.
    Return the requests sent and the logs delivered.
    """
    selected = [log for page in pages for log in page if log.get("type") not in EXCLUDED_TYPES]
    batches = [selected[i : i + PAGE_SIZE] for i in range(0, len(selected), PAGE_SIZE)]
    local = threading.local()

    def post(page: list[dict[str, Any]]) -> None:
        session = getattr(local, "session", None)
        if session is None:
            session = local.session = requests.Session()
        body = json.dumps(page, separators=(",", ":")).encode()
        response = session.post(hook_url, data=body, headers={"Content-Type": "application/json"}, timeout=30)
        response.raise_for_status()

    with ThreadPoolExecutor(max_workers=DELIVERY_SLOTS, thread_name_prefix="bare") as pool:
        list(pool.map(post, batches))
    return len(batches), len(selected)


def bare_end_to_end(emulator: Any, sink: Any, logs: int) -> EndToEndResult:
    """Fetch every log of ``emulator`` and deliver them to ``sink`` with the bare script; time both."""
    sink.reset()
    started = time.perf_counter()
    pages, gets = bare_fetch(emulator.url, emulator.client_id, emulator.client_secret)
    fetched_at = time.perf_counter()
    posts, selected = bare_deliver(sink.hook_url, pages)
    delivered_at = time.perf_counter()
    fetched = sum(len(page) for page in pages)
    received = sink.summary()
    if fetched != logs or received["unique_log_ids"] != selected:
        raise RuntimeError(f"bare run: fetched {fetched}, sink holds {received['unique_log_ids']} of {selected}")
    return EndToEndResult(
        label="bare requests",
        logs=logs,
        fetch_seconds=fetched_at - started,
        deliver_seconds=delivered_at - fetched_at,
        commit_seconds=0.0,
        fetch_requests=gets,
        deliver_requests=posts,
        delivered_logs=selected,
    )
