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
