"""Build ``log_catalog.json`` (one entry per log type code) from Auth0's tenant-log JSON schemas.

The emulator does not read the schemas at run time: it reads the catalog this script derives from
them (event name, declared top-level fields, and a ``details`` value that satisfies the schema).
Regenerate after updating the schemas::

    python -m dev.auth0_tenant.catalog_build /path/to/auth0-log-schemas/schemas/log-types \\
        --types-tsv /path/to/auth0-log-types.tsv
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path
from typing import Any

CATALOG_PATH = Path(__file__).with_name("log_catalog.json")

_PATTERN_VALUES = {
    "^[a-f0-9]{32}$": lambda rng: f"{rng.getrandbits(128):032x}",
    "^[A-Za-z0-9-_]{27}$": lambda rng: "".join(
        rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijk0123456789") for _ in range(27)
    ),
    "^cns_[A-Za-z0-9-_]{22}$": lambda rng: (
        "cns_" + "".join(rng.choice("ABCDEFGHabcdefgh0123456789") for _ in range(22))
    ),
}

_SET_BY_EMULATOR = frozenset({"type", "log_id", "description", "details", "date", "tenant_name", "environment_name"})

_NAMED_STRINGS = {
    "ip": "203.0.113.24",
    "method": "POST",
    "path": "/api/v2/users",
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) Chrome/120.0.0.0",
    "user_agent": "Chrome 120.0.0 / Mac OS X 10.15.7",
    "email": "jane.doe@example.com",
    "channel": "https://manage.auth0.com/",
    "strategy": "auth0",
    "connection": "Username-Password-Authentication",
    "user_id": "auth0|65a1f0c2d4e5f60718293a4b",
    "client_id": "aKq3mZ9xT1uYb7Lw2Vn8Rc4Pe6Sd0Hf5",
    "session_id": "kH3nQ8xZp1LmV6tR2cW9yB4sD7fG0jA5",
}


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    merged.setdefault("properties", {})
    merged.setdefault("required", [])
    for part in schema["allOf"]:
        part = _merge_all_of(part) if "allOf" in part else part
        merged["properties"] = {**merged["properties"], **part.get("properties", {})}
        merged["required"] = [*merged["required"], *part.get("required", [])]
        merged.setdefault("type", part.get("type"))
    return merged


def _pick_type(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if isinstance(kind, list):
        non_null = [k for k in kind if k != "null"]
        return non_null[0] if non_null else "null"
    if kind is None and "properties" in schema:
        return "object"
    return kind


def _example(schema: dict[str, Any], kind: str | None) -> Any:
    for example in schema.get("examples", []):
        if kind == "string" and isinstance(example, str):
            return example
        if kind in ("number", "integer") and isinstance(example, int | float) and not isinstance(example, bool):
            return example
    return None


def _string(schema: dict[str, Any], name: str, rng: random.Random) -> str:
    if schema.get("pattern") in _PATTERN_VALUES:
        return _PATTERN_VALUES[schema["pattern"]](rng)
    if schema.get("format") == "date-time":
        return "2024-01-15T10:30:00.000Z"
    if schema.get("format") in ("ipv4", "ipv6"):
        return "198.51.100.7"
    example = _example(schema, "string")
    if example is None:
        example = _NAMED_STRINGS.get(name)
    if example is None:
        example = f"{name or 'value'}_{rng.randrange(16**6):06x}"
    max_length = schema.get("maxLength")
    return str(example[:max_length] if max_length else example)


def _scalar(schema: dict[str, Any], kind: str | None, name: str, rng: random.Random) -> Any:
    if kind == "string":
        return _string(schema, name, rng)
    if kind in ("number", "integer"):
        example = _example(schema, kind)
        return example if example is not None else rng.randrange(1, 500)
    if kind == "boolean":
        return bool(rng.getrandbits(1))
    if kind == "null":
        return None
    return _NAMED_STRINGS.get(name, f"{name or 'value'}")


def fill(schema: dict[str, Any], rng: random.Random, name: str = "", depth: int = 0) -> Any:
    """Return a value that satisfies ``schema`` (the subset of draft-07 the Auth0 schemas use)."""
    if "allOf" in schema:
        return fill(_merge_all_of(schema), rng, name, depth)
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema["oneOf"]
        usable = [o for o in options if o.get("type") != "null"] or options
        return fill(usable[0], rng, name, depth)
    kind = _pick_type(schema)
    if kind == "object":
        return _fill_object(schema, rng, depth)
    if kind == "array":
        items = schema.get("items") or {"type": "string"}
        return [fill(items, rng, name, depth + 1)]
    return _scalar(schema, kind, name, rng)


def _fill_object(schema: dict[str, Any], rng: random.Random, depth: int) -> dict[str, Any]:
    required = set(schema.get("required", []))
    out: dict[str, Any] = {}
    for key, sub in schema.get("properties", {}).items():
        optional_scalar = _pick_type(sub) in ("string", "number", "boolean") and depth < 2
        if key in required or (optional_scalar and rng.random() < 0.35):
            out[key] = fill(sub, rng, key, depth + 1)
    return out


def build_entry(schema: dict[str, Any], seed: int, fallback_description: str = "") -> dict[str, Any]:
    """Summarise one log type's schema as a catalog entry."""
    props = schema.get("properties", {})
    entry: dict[str, Any] = {
        "description": schema.get("description") or props.get("type", {}).get("description") or fallback_description,
        "fields": sorted(props),
        "required": sorted(schema.get("required", [])),
    }
    rng = random.Random(seed)
    if "details" in props:
        # Auth0 returns ``details`` as an object for every type (the SDK's model is a dict); 15 schemas
        # leave its type open, which must not make it the string "details".
        details = props["details"]
        if _pick_type(details) is None:
            details = {**details, "type": "object"}
        entry["details"] = fill(details, rng, "details")
    entry["defaults"] = {
        key: fill(props[key], rng, key) for key in entry["required"] if key not in _SET_BY_EMULATOR and key in props
    }
    return entry


def read_type_names(tsv: Path | None) -> dict[str, str]:
    """Map code -> description from the log-type table (tab-separated, with a header row)."""
    if tsv is None:
        return {}
    rows = [line.split("\t") for line in tsv.read_text().splitlines()[1:] if line.strip()]
    return {row[0]: row[2] or row[1] for row in rows if len(row) > 2}


def build_catalog(schema_dir: Path, type_names: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """Read every ``<code>.schema.json`` under ``schema_dir`` into a catalog keyed by code."""
    names = type_names or {}
    catalog = {}
    for number, path in enumerate(sorted(schema_dir.glob("*.schema.json"))):
        schema = json.loads(path.read_text())
        code = schema["properties"]["type"]["const"]
        catalog[code] = build_entry(schema, seed=number, fallback_description=names.get(code, code))
    return catalog


def main(argv: list[str] | None = None) -> None:
    """Write the catalog next to this module."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("schema_dir", type=Path)
    parser.add_argument("--types-tsv", type=Path, help="log type table used for missing descriptions")
    parser.add_argument("--out", type=Path, default=CATALOG_PATH)
    args = parser.parse_args(argv)
    catalog = build_catalog(args.schema_dir, read_type_names(args.types_tsv))
    args.out.write_text(json.dumps(catalog, indent=1, sort_keys=True) + "\n")
    print(f"wrote {len(catalog)} log types to {args.out}")


if __name__ == "__main__":
    main()
