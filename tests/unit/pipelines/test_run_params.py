"""A run's conf may hold only the declared params; each setting is selecting, shaping or never per run."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.pipelines.config import ParamsError, PipelineConfig
from auth0_log_webhooks.pipelines.run_params import (
    NEVER_PER_RUN,
    SELECTING,
    SHAPING,
    UndeclaredParamError,
    check_run_params,
    preview_messages,
    run_params,
)

pytestmark = pytest.mark.unit

DAG = "auth0_authentication_api_webhooks"
VARIABLE = f"{DAG}_config"


def test_every_setting_is_in_exactly_one_group_so_a_new_filter_must_be_placed() -> None:
    groups = [*SELECTING, *SHAPING, *NEVER_PER_RUN]
    assert len(groups) == len(set(groups))
    assert set(groups) == set(PipelineConfig.model_fields)


def test_each_kind_declares_its_own_filters_and_the_shaping_params() -> None:
    assert run_params("authentication") == (
        "start_from",
        "log_types",
        "log_level",
        "log_categories",
        "batch_size",
        "send_as_batch",
        "format",
        "max_logs_per_run",
        "preview",
    )
    assert run_params("management") == (
        "start_from",
        "api_endpoints",
        "endpoint_match",
        "batch_size",
        "send_as_batch",
        "format",
        "max_logs_per_run",
        "preview",
    )


def test_declared_params_pass_even_when_empty() -> None:
    check_run_params(dict.fromkeys(run_params("authentication")), "authentication", DAG, VARIABLE)
    check_run_params(None, "management", DAG, VARIABLE)


def test_a_storage_setting_is_refused_naming_the_key_the_variable_and_the_allowed_keys() -> None:
    with pytest.raises(UndeclaredParamError) as raised:
        check_run_params({"staging_url": "file:///tmp/elsewhere", "batch_size": 5}, "authentication", DAG, VARIABLE)
    message = str(raised.value)
    assert "'staging_url' is never set per run (set it in Variable auth0_authentication_api_webhooks_config)" in message
    assert "stopped before reading any log" in message
    assert f"may hold only {', '.join(run_params('authentication'))}. Trigger the run again" in message
    assert "log_categories, batch_size, send_as_batch, format, max_logs_per_run" in message
    assert "file:///tmp/elsewhere" not in message  # values may be secrets; keys only


def test_a_near_miss_gets_a_did_you_mean() -> None:
    with pytest.raises(UndeclaredParamError, match=r"'batchsize' is not a param \(did you mean 'batch_size'\?\)"):
        check_run_params({"batchsize": 5}, "authentication", DAG, VARIABLE)
    with pytest.raises(UndeclaredParamError, match=r"'LOG_TYPES' is not a param \(did you mean 'log_types'\?\)"):
        check_run_params({"LOG_TYPES": "s"}, "authentication", DAG, VARIABLE)


def test_the_other_kinds_filter_is_refused_with_the_reason() -> None:
    with pytest.raises(UndeclaredParamError, match="'api_endpoints' filters management pipelines only"):
        check_run_params({"api_endpoints": "no-such-endpoint"}, "authentication", DAG, VARIABLE)
    with pytest.raises(UndeclaredParamError, match="'log_types' filters authentication pipelines only"):
        check_run_params({"log_types": "s"}, "management", DAG, VARIABLE)


def test_several_keys_are_all_named_and_an_unrelated_key_gets_no_guess() -> None:
    with pytest.raises(UndeclaredParamError, match=r"the keys 'dead_letter_url', 'zzz'.*'zzz' is not a param\."):
        check_run_params({"zzz": 1, "dead_letter_url": "s3://x"}, "authentication", DAG, VARIABLE)


@pytest.mark.parametrize(
    ("value", "count"), [(None, 0), ("", 0), (0, 0), (False, 0), (True, 1), (1, 1), ("3", 3), (100, 100)]
)
def test_the_preview_param_takes_a_count_of_messages_from_the_form_rest_and_cli(value: object, count: int) -> None:
    assert preview_messages({"preview": value}) == count


@given(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(),
        st.text(max_size=8),
        st.lists(st.integers(), max_size=2),
        st.dictionaries(st.text(max_size=2), st.integers(), max_size=1),
    )
)
def test_any_preview_value_is_a_count_within_range_or_refused_with_a_sentence(value: object) -> None:
    try:
        count = preview_messages({"preview": value})
    except ParamsError as exc:
        message = str(exc)
    else:
        assert 0 <= count <= 100
        return
    assert "preview param must be a number of messages from 1 to 100" in message
    assert "trigger the run again with a number in that range" in message


@given(st.integers())
def test_a_whole_number_preview_is_taken_as_is_within_range_and_refused_outside(value: int) -> None:
    if 0 <= value <= 100:
        assert preview_messages({"preview": value}) == preview_messages({"preview": str(value)}) == value
    else:
        with pytest.raises(ParamsError, match=f"not {value}; trigger the run again"):
            preview_messages({"preview": value})
