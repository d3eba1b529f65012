"""Response excerpts: bounded, control characters dropped, credential-looking values redacted."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from auth0_log_webhooks.http.redaction import REDACTED, excerpt, redact

pytestmark = pytest.mark.unit

SECRET = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", min_size=12, max_size=40)


@pytest.mark.parametrize(
    ("text", "kept", "gone"),
    [
        ('{"error":"forbidden","client_secret":"abc\\"def"}', '"error":"forbidden"', "abc"),
        ("Authorization: Bearer eyJabc.def-ghi", "Authorization:", "eyJabc"),
        ("see https://x/cb?api_key=12345678&page=2", "page=2", "12345678"),
        ("key AKIAIOSFODNN7EXAMPLE leaked", "leaked", "AKIAIOSFODNN7EXAMPLE"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----\nbye", "bye", "MIIE"),
        ("signing whsec_c2VjcmV0c2VjcmV0c2VjcmV0 done", "done", "whsec_c2Vj"),
        ("{'password': 'hunter22'}", "{'password': '[redacted]'}", "hunter22"),
        ("retry postgres://admin:hunter22@db.internal:5432/x", "postgres://[redacted]@db.internal:5432/x", "hunter22"),
        ("clone https://ghp_abcdef123456@github.com/x", "@github.com/x", "ghp_abcdef123456"),
        ("bot xoxb-1234567890-0987654321-AbCdEfGhIjKl said", "said", "xoxb-1234567890"),
        ("user xoxp-1234567890-0987654321-AbCdEfGhIjKl said", "said", "xoxp-1234567890"),
        (
            "<table><tr><th>Password</th><td>hunter22</td></tr><tr><td>user</td><td>alice</td></tr></table>",
            "<td>user</td><td>alice</td>",
            "hunter22",
        ),
        ("<tr><td>API Key:</td>\n<td class=v>k-1234567</td></tr>", "</td></tr>", "k-1234567"),
        ("<dl><dt>client secret</dt><dd>s3cr3t-value</dd></dl>", "</dd></dl>", "s3cr3t-value"),
        ('<input type=password name="password" value="hunter22">', 'value="[redacted]"', "hunter22"),
    ],
    ids=[
        "json",
        "bearer",
        "query",
        "aws",
        "pem",
        "whsec",
        "python-repr",
        "url-userinfo",
        "url-token",
        "slack-bot",
        "slack-user",
        "html-table",
        "html-table-label",
        "html-definition-list",
        "html-input",
    ],
)
def test_credential_looking_values_are_redacted_and_the_rest_kept(text: str, kept: str, gone: str) -> None:
    result = redact(text)
    assert kept in result
    assert gone not in result
    assert REDACTED in result


@given(st.text(max_size=300), SECRET, st.text(max_size=300))
def test_a_known_secret_never_survives_wherever_it_appears(before: str, secret: Any, after: str) -> None:
    text = excerpt(f"{before}{secret}{after}".encode(), known_secrets=[secret], limit=100_000)
    assert secret not in text


@given(st.binary(max_size=5000), st.integers(1, 3000))
def test_an_excerpt_of_any_bytes_is_bounded_and_has_no_control_characters(data: bytes, limit: int) -> None:
    text = excerpt(data, limit=limit)
    assert len(text) <= limit + len(" [...]")
    assert all(c in "\n\t" or c >= " " for c in text)
