"""A request the emulator or sink does not serve fails the test that sent it, at teardown.

Each case runs a small test file in a separate pytest session (pytester) with the fixtures of
``dev/*/testing.py`` loaded as plugins, and checks that session's outcome and message.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.dev

PLUGINS = ("-p", "dev.auth0_tenant.testing", "-p", "dev.webhook_sink.testing", "-p", "no:cacheprovider")
HEADER = """
import pytest
import requests
"""


RunInner = Callable[[str], pytest.RunResult]
"""The ``run_inner`` fixture: run one test body in its own pytest session."""


@pytest.fixture
def run_inner(pytester: pytest.Pytester) -> RunInner:
    """Run one test body (using the emulator or sink fixtures) in its own pytest session."""
    pytester.makeini("[pytest]\nmarkers =\n    allow_unexpected_requests: sends unexpected requests on purpose\n")

    def run(body: str) -> pytest.RunResult:
        pytester.makepyfile(test_inner=HEADER + textwrap.dedent(body))
        return pytester.runpytest(*PLUGINS, "--strict-markers")

    return run


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param(
            """
            def test_inner(auth0_tenant):
                requests.get(f"{auth0_tenant.url}/api/v2/nothing-here", timeout=10)
            """,
            "GET /api/v2/nothing-here",
            id="emulator-unknown-route",
        ),
        pytest.param(
            """
            def test_inner(auth0_tenant):
                requests.delete(f"{auth0_tenant.url}/api/v2/logs", timeout=10)
            """,
            "DELETE /api/v2/logs",
            id="emulator-wrong-method",
        ),
        pytest.param(
            """
            def test_inner(auth0_tenant_factory):
                tenant = auth0_tenant_factory(logs=10)
                requests.post(f"{tenant.url}/__emulator/nothing-here", timeout=10)
                tenant.reset()  # a reset does not hide it
            """,
            "POST /__emulator/nothing-here",
            id="emulator-unknown-control-endpoint",
        ),
        pytest.param(
            """
            def test_inner(webhook_sink):
                requests.get(webhook_sink.hook_url, timeout=10)
            """,
            "GET /hook",
            id="sink-wrong-method",
        ),
        pytest.param(
            """
            def test_inner(webhook_sink_factory):
                sink = webhook_sink_factory()
                requests.post(f"{sink.url}/__sink/nothing-here", timeout=10)
                sink.reset()  # a reset does not hide it
            """,
            "POST /__sink/nothing-here",
            id="sink-unknown-control-endpoint",
        ),
    ],
)
def test_unexpected_request_fails_the_test_at_teardown_naming_it(run_inner: RunInner, body: str, named: str) -> None:
    result = run_inner(body)

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*ERROR at teardown of test_inner*", f"*1 unexpected request(s): {named};*"])


def test_unexpected_requests_beyond_the_first_five_are_counted_not_listed(run_inner: RunInner) -> None:
    result = run_inner(
        """
        def test_inner(auth0_tenant):
            for n in range(7):
                requests.get(f"{auth0_tenant.url}/nothing-{n}", timeout=10)
        """
    )

    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*7 unexpected request(s): GET /nothing-0, *, GET /nothing-4 and 2 more;*"])


def test_unexpected_requests_pass_when_the_test_allows_them(run_inner: RunInner) -> None:
    result = run_inner(
        """
        @pytest.mark.allow_unexpected_requests
        def test_inner(auth0_tenant, webhook_sink):
            assert requests.get(f"{auth0_tenant.url}/api/v2/nothing-here", timeout=10).status_code == 404
            assert requests.get(webhook_sink.hook_url, timeout=10).status_code == 405
        """
    )

    result.assert_outcomes(passed=1)


def test_served_requests_pass_when_nothing_unexpected_is_sent(run_inner: RunInner) -> None:
    result = run_inner(
        """
        def test_inner(auth0_tenant, webhook_sink):
            token = auth0_tenant.token()
            logs = requests.get(
                f"{auth0_tenant.url}/api/v2/logs/{'900' + '0' * 53}",
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert logs.status_code == 404  # an unknown log is Auth0's answer, not an unmatched route
            assert requests.post(webhook_sink.hook_url, json=[{"log_id": "a"}], timeout=10).status_code == 200
            assert webhook_sink.summary()["accepted_requests"] == 1
        """
    )

    result.assert_outcomes(passed=1)
