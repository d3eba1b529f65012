"""The fetch's delivery lane, without a webhook: what it says when the run selected nothing or sending failed."""

from __future__ import annotations

import pytest

from auth0_log_webhooks.steps.deliver import BatchSender
from auth0_log_webhooks.steps.lane import DeliveryLane
from tests.builders import batch

pytestmark = pytest.mark.unit


def no_webhook() -> BatchSender:
    raise AssertionError("a lane with no batch opened the webhook")


def test_a_lane_given_no_batch_says_the_run_selected_nothing_and_opens_no_webhook() -> None:
    lane = DeliveryLane(no_webhook, drain_at_most=10)

    assert lane.finish() == 0
    assert lane.sentence() == "The run selected no log, so the delivery lane had nothing to send."
    assert lane.stopped is None


def unreachable_webhook() -> BatchSender:
    raise OSError("cannot reach https://hooks.example/secret-path")


def test_a_lane_whose_first_send_fails_names_the_batch_counted_from_1_and_the_error_type_only() -> None:
    lane = DeliveryLane(unreachable_webhook, drain_at_most=10)
    lane.staged(0, batch(100, 1, 100))
    lane.staged(1, batch(100, 101, 200))

    assert lane.finish() == 0, "nothing settled: the delivery tasks send both batches"
    assert lane.stopped == (
        "sending batch 1 raised OSError; the delivery tasks send it and the rest, and say what went wrong if it "
        "happens again"
    )
    assert "hooks.example" not in lane.sentence(), "a transport error's text may hold the webhook's URL"
