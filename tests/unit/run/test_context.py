"""Where a step runs: its backfill window, its Variables and its settings, without a scheduler."""

from datetime import UTC, datetime
from typing import Any

import pytest
from airflow.sdk.api.datamodels._generated import DagRunType

from auth0_log_webhooks.pipelines.config import ConfigError
from auth0_log_webhooks.pipelines.definition import Pipeline
from auth0_log_webhooks.run.context import backfill_window, load_config
from auth0_log_webhooks.run.variables import InMemoryVariables

pytestmark = pytest.mark.unit

PIPELINE = Pipeline(dag_id="p", title="test")


# -- backfill_window ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("run_type", "expected"),
    [
        (DagRunType.BACKFILL, True),
        ("backfill", True),
        (DagRunType.SCHEDULED, False),
        (DagRunType.MANUAL, False),
    ],
    ids=["sdk-enum", "string", "scheduled", "manual"],
)
def test_only_backfill_runs_get_a_window(run_type: Any, expected: bool) -> None:
    start, end = datetime(2026, 11, 25, tzinfo=UTC), datetime(2026, 11, 26, tzinfo=UTC)
    assert backfill_window(run_type, start, end) == ((start, end) if expected else None)


def test_a_backfill_run_without_a_data_interval_reads_from_the_checkpoint() -> None:
    assert backfill_window(DagRunType.BACKFILL, None, None) is None


def test_the_run_settings_are_the_variable_overridden_by_non_empty_params() -> None:
    variables = InMemoryVariables({"p_config": '{"batch_size": 50, "log_types": ["s"]}'})
    config = load_config(PIPELINE, {"batch_size": 10, "log_types": None}, variables)
    assert (config.batch_size, config.log_types) == (10, ("s",))


def test_a_broken_config_variable_is_named_in_the_error() -> None:
    with pytest.raises(ConfigError, match="Variable p_config is not valid JSON"):
        load_config(PIPELINE, None, InMemoryVariables({"p_config": "{batch_size: 5"}))


def test_a_run_that_was_asked_for_counts_live_logs_from_when_it_was_asked_a_scheduled_one_from_its_start() -> None:
    from auth0_log_webhooks.run.context import live_since

    asked, began = datetime(2026, 12, 4, 12, 0, 0, tzinfo=UTC), datetime(2026, 12, 4, 12, 0, 2, tzinfo=UTC)

    assert live_since("operator_triggered", asked, began) == asked
    assert live_since("asset_triggered", asked, began) == asked
    assert live_since("scheduled", asked, began) == began  # run_after is the tick: older logs follow it
    assert live_since(DagRunType.SCHEDULED, asked, began) == began  # the Task SDK's enum, as in a task
    assert live_since("scheduled", asked, None) is None
    assert live_since("manual", None, began) == began
