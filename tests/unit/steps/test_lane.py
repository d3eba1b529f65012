"""The fetch's delivery lane, without a webhook: what it says when the run selected nothing."""

from __future__ import annotations

import pytest

from auth0_log_webhooks.steps.deliver import BatchSender
from auth0_log_webhooks.steps.lane import DeliveryLane

pytestmark = pytest.mark.unit


def no_webhook() -> BatchSender:
    raise AssertionError("a lane with no batch opened the webhook")


def test_a_lane_given_no_batch_says_the_run_selected_nothing_and_opens_no_webhook() -> None:
    lane = DeliveryLane(no_webhook, drain_at_most=10)

    assert lane.finish() == 0
    assert lane.sentence() == "The run selected no log, so the delivery lane had nothing to send."
    assert lane.stopped is None
