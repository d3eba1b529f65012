"""Settings: defaults of the original, validation naming the field, per-run overrides."""

from typing import Any

import pytest

from auth0_log_webhooks.pipelines.config import ConfigError, PipelineConfig, parse_variable, resolve_config

pytestmark = pytest.mark.unit

NAME = "auth0_authentication_api_webhooks_config"


def test_an_absent_variable_means_the_original_defaults() -> None:
    config = resolve_config(parse_variable(None, NAME), None, NAME)
    assert (config.batch_size, config.send_as_batch, config.log_types, config.log_level) == (100, True, (), None)


def test_log_types_accept_the_originals_comma_separated_string() -> None:
    config = resolve_config({"log_types": " s, f ,fp"}, None, NAME)
    assert config.log_types == ("s", "f", "fp")


def test_log_categories_take_a_log_streams_filter_json_as_is_from_the_variable_or_a_param() -> None:
    variable = parse_variable('{"log_categories": [{"type": "category", "name": "auth.signup.fail"}]}', NAME)
    assert resolve_config(variable, None, NAME).log_categories == ("auth.signup.fail",)
    param = '[{"type": "category", "name": "scim.event"}]'  # the trigger form's text field
    assert resolve_config(variable, {"log_categories": param}, NAME).log_categories == ("scim.event",)


def test_params_override_the_variable_only_where_set() -> None:
    config = resolve_config({"batch_size": 50, "log_level": 3}, {"batch_size": 10, "log_level": None}, NAME)
    assert (config.batch_size, config.log_level) == (10, 3)


@pytest.mark.parametrize(
    ("variable", "field"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": 1001}, "batch_size"),
        ({"log_level": 7}, "log_level"),
        ({"log_types": ["s", "Not A Code"]}, "log_types"),
        ({"log_categories": ["login.fail"]}, "log_categories"),
        ({"start_from": "last tuesday"}, "start_from"),
        ({"format": "xml"}, "format"),
        ({"bacth_size": 10}, "bacth_size"),
    ],
    ids=["zero-batch", "huge-batch", "level", "type", "category", "start-from", "format", "typo"],
)
def test_an_invalid_variable_names_the_variable_and_the_field(variable: dict[str, Any], field: str) -> None:
    with pytest.raises(ConfigError, match=rf"Variable {NAME} is invalid: {field}"):
        resolve_config(variable, None, NAME)


def test_invalid_params_are_reported_as_params() -> None:
    with pytest.raises(ConfigError, match="Trigger params are invalid: batch_size"):
        resolve_config({}, {"batch_size": -5}, NAME)


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]"])
def test_a_variable_that_is_not_a_json_object_is_named(raw: str) -> None:
    with pytest.raises(ConfigError, match=NAME):
        parse_variable(raw, NAME)


def test_the_model_refuses_unknown_fields() -> None:
    with pytest.raises(ValueError, match="Extra inputs"):
        PipelineConfig.model_validate({"webhook_url": "https://example.com"})


def test_the_config_variable_accepts_the_originals_setting_names() -> None:
    original = {
        "BATCH_SIZE": 50,
        "SEND_AS_BATCH": "false",
        "LOG_TYPES": "s, f",
        "LOG_LEVEL": "3",
        "START_FROM": "2026-11-01",
    }
    config = resolve_config(original, None, NAME)
    assert (config.batch_size, config.send_as_batch, config.log_types, config.log_level, config.start_from) == (
        50,
        False,
        ("s", "f"),
        3,
        "2026-11-01",
    )
    assert resolve_config({"AUTH0_API_ENDPOINTS": "users, connections"}, None, NAME).api_endpoints == (
        "users",
        "connections",
    )


@pytest.mark.parametrize(
    ("variable", "says"),
    [
        ({"bacth_size": 10}, "bacth_size: not a setting; did you mean 'batch_size'?"),
        ({"LOG_TYPE": "s"}, "LOG_TYPE: not a setting; did you mean 'log_types'?"),
        ({"WEBHOOK_URL": "https://x"}, "WEBHOOK_URL: not a setting of this Variable but the Webhook URL (host) of"),
        ({"EXTENSION_SECRET": "x"}, "EXTENSION_SECRET: the extension platform's own setting"),
        ({"BATCH_SIZE": 5, "batch_size": 6}, "BATCH_SIZE and batch_size are the same setting under two names"),
    ],
    ids=["typo", "original-typo", "elsewhere", "platform", "both"],
)
def test_an_unknown_key_says_what_it_is_or_what_was_meant(variable: dict[str, Any], says: str) -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_config(variable, None, NAME)
    assert says in str(raised.value)


def test_a_secret_under_an_unknown_key_is_not_repeated() -> None:
    with pytest.raises(ConfigError) as raised:
        resolve_config({"AUTHORIZATION": "Bearer s3cr3t", "batch_size": 5, "BATCH_SIZE": 6}, None, NAME)
    assert "s3cr3t" not in str(raised.value)
