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
