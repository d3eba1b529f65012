"""Bounded, redacted excerpts of what a receiver answered, for dead letters and logs.

A webhook's error page may echo the request's ``Authorization`` header, and an internal service's
403 may list its own keys. A dead letter keeps at most :data:`EXCERPT_CHARS` characters of the
answer, with values that look like credentials replaced by ``[redacted]``. This is the one list of
what redaction covers (SECURITY.md points here):

* the connection's own secrets (the ``known_secrets`` given), wherever they appear;
* ``Bearer``/``Basic``/``Digest``/``Token`` credentials, JWTs (``eyJ...``), ``whsec_`` signing
  secrets, AWS access key ids (``AKIA``/``ASIA``), Slack tokens (``xoxb-``, ``xoxp-``, ``xoxa-``,
  ``xoxr-``, ``xoxs-``, ``xoxo-``, ``xapp-``), PEM private key blocks;
* the user and password of a URL (``scheme://user:pass@host`` keeps ``scheme://[redacted]@host``);
* the value of a key named like a secret (``password``, ``token``, ``api_key``, ``secret``,
  ``authorization``, ``cookie``, ``session``, ``signature``, ``key`` and names ending in them) in JSON
  or Python reprs, ``key=value`` query strings and forms, ``key: value`` headers and YAML, HTML
  tables and definition lists (the cell after a ``<th>``/``<td>``/``<dt>`` naming it) and HTML
  inputs (``<input name="password" value="...">``).

Anything else is kept: redaction recognises credentials by shape and name, so a secret with
neither (a bare random string in prose) passes, unless it is one of the connection's own.
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
_LABEL = rf"(?:[A-Za-z0-9_. -]*(?:{_KEY_NAMES}))"
"""A secret's name as a person writes it in a table: ``API Key``, ``Client secret``."""
_CELL = r"<(?:t[hd]|dt)\b[^>]*>"
_CELL_END = r"</(?:t[hd]|dt)\s*>"
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
    (re.compile(r"\b(?:xox[abposr]|xapp)-[A-Za-z0-9-]{8,}"), REDACTED),
    # scheme://user:password@host and scheme://token@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^\s/?#@<>\"']+@"), rf"\g<1>{REDACTED}@"),
    # <th>Password</th><td>value</td>, <td>api key:</td><td>value</td>, <dt>token</dt><dd>value</dd>
    (
        re.compile(
            rf"(?is)({_CELL}\s*{_LABEL}\s*:?\s*{_CELL_END}\s*<(?:t[hd]|dd)\b[^>]*>)"
            r"(?:(?!</(?:t[hd]|dd)\s*>).)*"
        ),
        rf"\g<1>{REDACTED}",
    ),
    # <input name="password" value="..."> (either attribute first)
    (
        re.compile(rf"""(?is)(<input\b[^>]*\bname\s*=\s*["']?{_SECRET_KEY}["']?[^>]*\bvalue\s*=\s*)(["'])[^"']*\2"""),
        rf"\g<1>\g<2>{REDACTED}\g<2>",
    ),
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
