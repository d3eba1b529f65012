"""Benchmark 12's account of where tenant 0's runs waited: spans between the REST API's moments, and the pool."""

from __future__ import annotations

from typing import Any

import pytest

from bench.pipelines import _spans, describe_pool

pytestmark = pytest.mark.unit


def test_spans_are_the_seconds_between_two_moments_of_each_item_that_has_both() -> None:
    items: list[dict[str, Any]] = [
        {"scheduled_when": "2026-12-04T10:00:00+00:00", "queued_when": "2026-12-04T10:00:02+00:00"},
        {"scheduled_when": "2026-12-04T10:00:00+00:00", "queued_when": "2026-12-04T10:01:30+00:00"},
        {"scheduled_when": "2026-12-04T10:00:00+00:00", "queued_when": None},
    ]

    assert _spans(items, "scheduled_when", "queued_when") == "2.0 / 90.0 / 90.0s"
    assert _spans(items[2:], "scheduled_when", "queued_when") == "none"


def test_the_pool_line_gives_median_and_most_of_each_kind_of_slot() -> None:
    samples = [
        {"running_slots": 5, "queued_slots": 0, "scheduled_slots": 40},
        {"running_slots": 5, "queued_slots": 1, "scheduled_slots": 90},
        {"running_slots": 1, "queued_slots": 0, "scheduled_slots": 0},
    ]

    line = describe_pool("auth0_webhooks", samples)

    assert line == "pool auth0_webhooks over 3 samples (median / max): running 5 / 5, queued 0 / 1, scheduled 40 / 90"
    assert describe_pool("auth0_webhooks", []) == "pool auth0_webhooks: no sample"
