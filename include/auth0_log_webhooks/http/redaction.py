"""Bounded, redacted excerpts of what a receiver answered, for dead letters and logs.

A webhook's error page may echo the request's ``Authorization`` header, and an internal service's
403 may list its own keys. A dead letter keeps at most :data:`EXCERPT_CHARS` characters of the
answer, with values that look like credentials replaced by ``[redacted]``: the connection's own
secrets wherever they appear, ``Bearer``/``Basic`` tokens, JWTs, ``whsec_`` secrets, AWS access key
ids, private key blocks, and the values of keys named like secrets in JSON, headers or query strings.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

EXCERPT_CHARS = 1024
REDACTED = "[redacted]"
_KEY_NAMES = (
    "secret|passw(?:or)?d|pwd|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|"
    "authorization|auth|credential|cookie|session|signature|sig|key"
)
_SECRET_KEY = rf"(?:[A-Za-z0-9_.-]*(?:{_KEY_NAMES}))"
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)", re.DOTALL), REDACTED),
    (re.compile(r"(?i)\b(bearer|basic|token|digest)(\s+)[A-Za-z0-9._~+/=-]{6,}"), rf"\g<1>\g<2>{REDACTED}"),
    # "key": "value" and 'key': 'value' in JSON or Python reprs
    (
        re.compile(rf"""(?i)(["']{_SECRET_KEY}["']\s*:\s*)(["'])(?:\\.|(?!\2).)*(?:\2|\Z)"""),
        rf"\g<1>\g<2>{REDACTED}\g<2>",
    ),
    # key=value (query strings, form bodies), key: value (headers, YAML)
    (
        re.compile(rf"""(?i)(\b{_SECRET_KEY}\s*[=:]\s*)(?![A-Za-z]+ \[redacted\]|\[redacted\])[^\s&;,"'<>]+"""),
        rf"\g<1>{REDACTED}",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), REDACTED),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
]


def redact(text: str, known_secrets: Iterable[str] = ()) -> str:
    """Return ``text`` with the known secrets and anything that looks like a credential replaced."""
    for secret in sorted({s for s in known_secrets if s and len(s) >= 4}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def excerpt(data: bytes, known_secrets: Iterable[str] = (), limit: int = EXCERPT_CHARS) -> str:
    """Decode the start of a response body, redact it, and bound it to ``limit`` characters.

    Redaction runs before the cut (a secret straddling the cut is not left half visible) and
    control characters other than newline and tab are dropped, so the excerpt is safe to log.
    """
    text = data.decode("utf-8", errors="replace")
    text = "".join(c for c in text if c in "\n\t" or c >= " ")
    text = redact(text, known_secrets)
    return text if len(text) <= limit else text[:limit] + " [...]"
