"""The trigger form's help: every param that narrows what a run selects says it makes a one-off run, and the
help is right in the Backfill form too, which shows the same params."""

from __future__ import annotations

import pytest

from auth0_log_webhooks.wiring.trigger_form import trigger_params

pytestmark = pytest.mark.unit

NARROWING = ("start_from", "log_types", "log_level", "log_categories")


@pytest.mark.parametrize("name", NARROWING)
def test_a_param_that_narrows_the_run_says_it_makes_a_one_off_run_that_leaves_the_checkpoint_alone(name: str) -> None:
    help_text = trigger_params()[name].description or ""
    assert "one-off run" in help_text
    assert "leaves the checkpoint alone" in help_text


def test_the_start_from_help_is_true_in_the_backfill_form_too() -> None:
    help_text = trigger_params()["start_from"].description or ""
    assert "a backfill run reads its own date range" in help_text


def test_params_that_only_shape_messages_do_not_claim_a_one_off_run() -> None:
    for name, param in trigger_params().items():
        if name not in NARROWING:
            assert "one-off" not in (param.description or ""), name
