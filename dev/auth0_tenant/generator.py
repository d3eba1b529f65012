"""Deterministic, realistic Auth0 tenant log events computed from ``(seed, index)``.

Nothing is stored per log: :meth:`LogFactory.make` rebuilds log ``index`` on demand. Types follow a
believable mix (successful logins and token exchanges dominate, failures are present, ``sapi``
management calls carry ``/api/v2`` paths); every code in ``log_catalog.json`` also appears once in
every aligned block of :data:`COVERAGE_BLOCK` logs, so any large enough sample covers the catalog.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

CATALOG: dict[str, dict[str, Any]] = json.loads(Path(__file__).with_name("log_catalog.json").read_text())
COVERAGE_BLOCK = 4096
JITTER_MS = 300

# Relative weights of the common codes; every other catalog code gets TAIL_WEIGHT.
WEIGHTS: dict[str, float] = {
    "s": 30,
    "seccft": 22,
    "sertft": 8,
    "seacft": 4,
    "ssa": 4,
    "slo": 3,
    "sapi": 5,
    "mgmt_api_read": 1.5,
    "f": 3,
    "fp": 2.5,
    "fu": 1.5,
    "feccft": 1,
    "fertft": 0.5,
    "scoa": 0.5,
    "ss": 0.6,
    "sv": 0.3,
    "cs": 0.3,
    "cls": 0.3,
    "gd_send_sms": 0.3,
    "gd_auth_succeed": 0.3,
}
TAIL_WEIGHT = 0.03
M2M_TYPES = frozenset({"seccft", "feccft", "sapi", "mgmt_api_read", "api_limit", "api_limit_warning"})


@dataclass(frozen=True)
class App:
    """An application (client) of the emulated tenant."""

    client_id: str
    name: str


@dataclass(frozen=True)
class Connection:
    """A connection of the emulated tenant."""

    name: str
    connection_id: str
    strategy: str
    strategy_type: str


APPS = (
    App("aKq3mZ9xT1uYb7Lw2Vn8Rc4Pe6Sd0Hf5", "Storefront Web"),
    App("Zp8Qe1Rt4Yu7Io0Pa3Sd6Fg9Hj2Kl5Mn", "Storefront iOS"),
    App("Bv2Nc5Xz8Lk1Jh4Gf7Ds0Aq3Wr6Ty9Ui", "Storefront Android"),
    App("Mq7Wn2Eb5Rv8Tc1Yx4Uz7Io0Pl3Kj6Hg", "Partner Portal"),
    App("Ht5Gr8Fe1Dw4Sq7Az0Xc3Vb6Nm9Lk2Jp", "Billing Service (M2M)"),
    App("Cx1Vb4Nm7Qw0Er3Ty6Ui9Op2As5Df8Gh", "Log Exporter (M2M)"),
    App("Ly9Kt6Jr3He0Gw7Fq4Dp1Sn8Am5Zb2Xc", "Admin Dashboard"),
)
CONNECTIONS = (
    Connection("Username-Password-Authentication", "con_Rb3kT8vQ1mX6zW2n", "auth0", "database"),
    Connection("google-oauth2", "con_Hs5pL0cY7dF2gJ9a", "google-oauth2", "social"),
    Connection("github", "con_Wq4eR7tY0uI3oP6a", "github", "social"),
    Connection("acme-corp-saml", "con_Zx8cV1bN4mQ7wE0r", "samlp", "enterprise"),
    Connection("email", "con_Tg2hJ5kL8zX1cV4b", "email", "passwordless"),
)
CONNECTION_WEIGHTS = (55, 20, 8, 10, 7)
_CONNECTION_CUMULATIVE = tuple(itertools.accumulate(CONNECTION_WEIGHTS))
USER_AGENTS = (
    ("Chrome 120.0.0 / Mac OS X 10.15.7", False),
    ("Chrome 121.0.0 / Windows 10.0.0", False),
    ("Firefox 122.0.0 / Ubuntu 0.0.0", False),
    ("Safari 17.2.1 / Mac OS X 10.15.7", False),
    ("Mobile Safari 17.2.0 / iOS 17.2.1", True),
    ("Chrome Mobile 120.0.6099 / Android 14.0.0", True),
    ("Edge 120.0.2210 / Windows 10.0.0", False),
)
LOCATIONS = (
    ("US", "USA", "United States", "Seattle", 47.6062, -122.3321, "America/Los_Angeles", "NA"),
    ("DE", "DEU", "Germany", "Berlin", 52.52, 13.405, "Europe/Berlin", "EU"),
    ("BR", "BRA", "Brazil", "Sao Paulo", -23.5475, -46.6361, "America/Sao_Paulo", "SA"),
    ("IN", "IND", "India", "Bengaluru", 12.9716, 77.5946, "Asia/Kolkata", "AS"),
    ("AU", "AUS", "Australia", "Sydney", -33.8688, 151.2093, "Australia/Sydney", "OC"),
)
FIRST_NAMES = ("ana", "ben", "chen", "dara", "eli", "fatima", "gus", "hana", "ivan", "jo", "kai", "lena")
LAST_NAMES = ("smith", "garcia", "kim", "nguyen", "okafor", "rossi", "schmidt", "tanaka", "walsh", "yilmaz")
FAILURE_MESSAGES = {
    "f": ("Wrong email or password.", "access_denied"),
    "fp": ("Wrong email or password.", "invalid_grant"),
    "fu": ("Wrong email or password.", "invalid_user_password"),
}
MGMT_CALLS = (
    ("GET", "/api/v2/users", 200),
    ("GET", "/api/v2/users/{user}", 200),
    ("PATCH", "/api/v2/users/{user}", 200),
    ("POST", "/api/v2/users", 201),
    ("DELETE", "/api/v2/users/{user}", 204),
    ("GET", "/api/v2/clients", 200),
    ("PATCH", "/api/v2/clients/{client}", 200),
    ("GET", "/api/v2/connections", 200),
    ("PATCH", "/api/v2/connections/{connection}", 200),
    ("GET", "/api/v2/rules", 200),
    ("POST", "/api/v2/roles", 200),
    ("GET", "/api/v2/roles", 200),
    ("POST", "/api/v2/users/{user}/roles", 204),
    ("GET", "/api/v2/emails/provider", 200),
    ("PATCH", "/api/v2/tenants/settings", 200),
    ("GET", "/api/v2/tenants/settings", 200),
    ("GET", "/api/v2/logs", 200),
    ("POST", "/api/v2/jobs/users-exports", 201),
)
MGMT_DESCRIPTIONS = {"GET": "Read", "POST": "Create", "PATCH": "Update", "DELETE": "Delete"}


def format_date(time_ms: float) -> str:
    """Format epoch milliseconds as Auth0 does: ISO 8601, milliseconds, ``Z``."""
    moment = datetime.fromtimestamp(int(time_ms) / 1000, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(time_ms) % 1000:03d}Z"


def _hex(rng: random.Random, digits: int) -> str:
    return f"{rng.getrandbits(4 * digits):0{digits}x}"


def _pick(rng: random.Random, options: tuple[Any, ...]) -> Any:
    return options[int(rng.random() * len(options))]


def _between(rng: random.Random, low: int, high: int) -> int:
    return low + int(rng.random() * (high - low + 1))


_FIRST_OCTETS = (24, 73, 81, 102, 145, 186, 203)


def _ip(rng: random.Random) -> str:
    bits = rng.getrandbits(32)
    if bits & 0xF == 0:
        return f"2001:db8:{bits >> 16:x}::{(bits >> 4) & 0xFFF or 1:x}"
    first = _FIRST_OCTETS[(bits >> 24) % len(_FIRST_OCTETS)]
    return f"{first}.{(bits >> 16) & 0xFF}.{(bits >> 8) & 0xFF}.{(bits & 0xFE) or 1}"


class LogFactory:
    """Build log ``index`` of a tenant from the seed; the same inputs always give the same log."""

    def __init__(self, seed: int, tenant_name: str = "emulator-tenant", environment_name: str = "prod-us-1") -> None:
        self.seed = seed
        self.tenant_name = tenant_name
        self.environment_name = environment_name
        self.hostname = f"{tenant_name}.us.auth0.com"
        codes = sorted(CATALOG)
        self.codes = codes
        self._cumulative = list(itertools.accumulate(WEIGHTS.get(code, TAIL_WEIGHT) for code in codes))
        self._details_json = {
            code: json.dumps(entry["details"]) for code, entry in CATALOG.items() if "details" in entry
        }
        self._fields = {code: frozenset(entry["fields"]) for code, entry in CATALOG.items()}
        self._defaults_json = {
            code: {key: json.dumps(value) for key, value in entry["defaults"].items()}
            for code, entry in CATALOG.items()
        }
        self._forced = lru_cache(maxsize=64)(self._forced_block)

    def _forced_block(self, block: int) -> dict[int, str]:
        rng = random.Random(f"{self.seed}:block:{block}")
        offsets = rng.sample(range(COVERAGE_BLOCK), len(self.codes))
        return dict(zip(offsets, self.codes, strict=True))

    def type_of(self, index: int, rng: random.Random) -> str:
        """Choose the log type of ``index`` (forced coverage first, else the weighted mix)."""
        forced = self._forced(index // COVERAGE_BLOCK).get(index % COVERAGE_BLOCK)
        if forced is not None:
            return forced
        pick = rng.random() * self._cumulative[-1]
        return self.codes[bisect.bisect_right(self._cumulative, pick)]

    def make(self, index: int, log_id: str, time_ms: float) -> dict[str, Any]:
        """Return the log at ``index`` with the given id and id-time (epoch milliseconds)."""
        rng = random.Random(self.seed * 1_000_003 + index)
        code = self.type_of(index, rng)
        date_ms = max(0.0, time_ms + _between(rng, -JITTER_MS, JITTER_MS))
        log = self._common(code, rng, date_ms)
        log["details"] = self._details(code, rng, log, date_ms)
        if log["details"] is None:
            del log["details"]
        log["log_id"] = log_id
        log["_id"] = log_id
        return log

    def _common(self, code: str, rng: random.Random, date_ms: float) -> dict[str, Any]:
        fields = self._fields[code]
        required = CATALOG[code]["required"]
        app = _pick(rng, APPS)
        conn = CONNECTIONS[bisect.bisect_right(_CONNECTION_CUMULATIVE, rng.random() * _CONNECTION_CUMULATIVE[-1])]
        user_number = int(37 / (1.0 - rng.random()) ** (1 / 1.2)) % 20_000
        agent, mobile = _pick(rng, USER_AGENTS)
        ip = _ip(rng)
        candidates: dict[str, Any] = {
            "description": self._description(code),
            "connection": conn.name,
            "connection_id": conn.connection_id,
            "client_id": app.client_id,
            "client_name": app.name,
            "ip": ip,
            "client_ip": ip,
            "user_agent": agent,
            "hostname": self.hostname,
            "user_id": _user_id(conn, user_number),
            "user_name": _user_name(user_number),
            "strategy": conn.strategy,
            "strategy_type": conn.strategy_type,
            "audience": f"https://{self.hostname}/api/v2/",
            "scope": "read:users read:logs",
        }
        m2m = code in M2M_TYPES
        log: dict[str, Any] = {"date": format_date(date_ms), "type": code}
        for key, value in candidates.items():
            wanted = key in fields and not (m2m and key in _USER_FIELDS)
            if wanted or key in required:
                log[key] = value
        for key in required:
            if key not in log and key in self._defaults_json[code]:
                log[key] = json.loads(self._defaults_json[code][key])
        log["$event_schema"] = {"version": "1.0.0"}
        log["tenant_name"] = self.tenant_name
        log["environment_name"] = self.environment_name
        if "user_agent" in log:
            log["isMobile"] = mobile
        if not m2m and rng.random() < 0.6:
            log["location_info"] = _location(rng)
        return log

    def _description(self, code: str) -> str:
        if code in FAILURE_MESSAGES:
            return FAILURE_MESSAGES[code][0]
        return str(CATALOG[code]["description"])

    def _details(self, code: str, rng: random.Random, log: dict[str, Any], date_ms: float) -> Any:
        template = _TEMPLATES.get(code)
        if template is not None:
            return template(self, rng, log, date_ms)
        cached = self._details_json.get(code)
        return json.loads(cached) if cached is not None else None


_USER_FIELDS = frozenset({"user_id", "user_name", "connection", "connection_id", "strategy", "strategy_type"})


def _user_id(conn: Connection, number: int) -> str:
    prefix = {"database": "auth0", "passwordless": "email", "enterprise": "samlp|acme-corp-saml"}
    scrambled = (number + 1) * 0x9E3779B97F4A7C15F39CC0605CEDC834 % 16**24
    return f"{prefix.get(conn.strategy_type, conn.strategy)}|{scrambled:024x}"


def _user_name(number: int) -> str:
    first = FIRST_NAMES[number % len(FIRST_NAMES)]
    last = LAST_NAMES[(number // len(FIRST_NAMES)) % len(LAST_NAMES)]
    return f"{first}.{last}{number}@example.com"


def _location(rng: random.Random) -> dict[str, Any]:
    code2, code3, country, city, lat, lon, zone, continent = _pick(rng, LOCATIONS)
    return {
        "country_code": code2,
        "country_code3": code3,
        "country_name": country,
        "city_name": city,
        "latitude": lat,
        "longitude": lon,
        "time_zone": zone,
        "continent_code": continent,
    }


def _login_details(factory: LogFactory, rng: random.Random, log: dict[str, Any], date_ms: float) -> dict[str, Any]:
    session_id = _hex(rng, 32)
    elapsed = _between(rng, 400, 25_000)
    started = int(date_ms) - elapsed
    prompt = {
        "name": "login",
        "flow": "universal-login",
        "initiatedAt": started,
        "completedAt": int(date_ms) - 50,
        "timers": {"rules": _between(rng, 2, 40)},
        "user_id": log.get("user_id", ""),
        "user_name": log.get("user_name", ""),
        "elapsedTime": elapsed - 50,
        "requiredCaptcha": False,
        "session_id": session_id,
        "stats": {"loginsCount": _between(rng, 1, 400)},
    }
    return {
        "prompts": [prompt],
        "initiatedAt": started,
        "completedAt": int(date_ms),
        "elapsedTime": elapsed,
        "session_id": session_id,
        "actions": {"executions": [_hex(rng, 24)]},
    }


def _failure_details(factory: LogFactory, rng: random.Random, log: dict[str, Any], date_ms: float) -> dict[str, Any]:
    message, oauth_error = FAILURE_MESSAGES[log["type"]]
    details: dict[str, Any] = {"error": {"message": message}, "transaction_id": _hex(rng, 16)}
    if log["type"] == "f":
        details["error"]["oauthError"] = oauth_error
        details["stats"] = {"loginsCount": _between(rng, 0, 50)}
    return details


def _token_details(factory: LogFactory, rng: random.Random, log: dict[str, Any], date_ms: float) -> dict[str, Any]:
    details: dict[str, Any] = {"access_token_jti": _hex(rng, 32)}
    if log["type"] == "seccft":
        details["actions"] = {"executions": [_hex(rng, 24)]} if rng.random() < 0.3 else {"executions": []}
    elif log["type"] == "sertft":
        details["familyId"] = _hex(rng, 16)
        details["tokenCounter"] = _between(rng, 1, 90)
        details["refresh_token"] = {"access": "offline", "session_id": _hex(rng, 32)}
    return details


def _mgmt_details(factory: LogFactory, rng: random.Random, log: dict[str, Any], date_ms: float) -> dict[str, Any]:
    method, path, status = _pick(rng, MGMT_CALLS)
    if log["type"] == "mgmt_api_read":
        method, status = "GET", 200
    concrete = path.format(
        user=f"auth0|{_hex(rng, 24)}",
        client=_pick(rng, APPS).client_id,
        connection=_pick(rng, CONNECTIONS).connection_id,
    )
    log["description"] = f"{MGMT_DESCRIPTIONS[method]} {path.split('/')[3]}"
    body: Any = {} if method in ("GET", "DELETE") else {"blocked": False, "app_metadata": {"plan": "pro"}}
    details: dict[str, Any] = {
        "request": {
            "method": method.lower(),
            "path": concrete,
            "query": {"per_page": "50", "page": "0"} if method == "GET" else {},
            "body": body,
            "channel": "https://manage.auth0.com/" if rng.random() < 0.4 else "api",
            "ip": log.get("ip", "203.0.113.24"),
            "userAgent": "node-auth0/4.2.0",
            "auth": {
                "user": {"user_id": "google-oauth2|1044", "name": "Ops Admin", "email": "ops@example.com"},
                "strategy": "jwt",
                "credentials": {"jti": _hex(rng, 32)},
            },
        },
        "response": {"statusCode": status, "body": {} if status != 204 else []},
    }
    if log["type"] == "mgmt_api_read":
        details["accessedSecrets"] = ["client_secret"]
    return details


def _logout_details(factory: LogFactory, rng: random.Random, log: dict[str, Any], date_ms: float) -> dict[str, Any]:
    return {
        "return_to": "https://shop.example.com/",
        "allowed_logout_url": ["https://shop.example.com/"],
        "session_id": _hex(rng, 32),
    }


_TEMPLATES = {
    "s": _login_details,
    "ssa": _login_details,
    "f": _failure_details,
    "fp": _failure_details,
    "fu": _failure_details,
    "seccft": _token_details,
    "sertft": _token_details,
    "seacft": _token_details,
    "sapi": _mgmt_details,
    "mgmt_api_read": _mgmt_details,
    "slo": _logout_details,
}
