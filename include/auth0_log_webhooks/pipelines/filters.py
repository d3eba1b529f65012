"""Which logs a pipeline delivers.

The Authentication API pipeline follows the original extension (AAW 2.1.3, auth0-log-extension-tools):

* none of ``log_types``, ``log_level`` and ``log_categories`` set: every event except Management API
  operations (``sapi``, ``fapi``), including codes Auth0 adds later;
* otherwise the **union** of the listed codes, every code whose level is ``log_level`` or above, and
  every code in one of the ``log_categories`` (Auth0 Log Streams' filter categories, such as
  ``auth.login.fail``). As in the original, a level can therefore select ``sapi`` (info) or ``fapi``
  (error); so can the categories ``management.success`` and ``management.fail``.

Unlike the original, a code missing from the catalog is never dropped by a level or category filter:
it counts as critical and as in every category (see :mod:`auth0_log_webhooks.pipelines.log_types`)
and is logged once per filter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any, Protocol

from auth0_log_webhooks.pipelines.log_types import MANAGEMENT_API_TYPES, catalog, category_of, level_of

log = logging.getLogger(__name__)


class LogFilter(Protocol):
    """Decides, log by log, what a pipeline delivers."""

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """Return True if ``event`` is to be delivered."""
        ...


class TypeLevelFilter:
    """The original extensions' LOG_TYPES / LOG_LEVEL selection, plus Log Streams categories (module docstring)."""

    def __init__(
        self,
        log_types: Iterable[str] = (),
        log_level: int | None = None,
        excluded_by_default: frozenset[str] = MANAGEMENT_API_TYPES,
        categories: Iterable[str] = (),
    ) -> None:
        self.log_types = frozenset(log_types)
        self.log_level = log_level
        self.categories = frozenset(categories)
        self.excluded_by_default = excluded_by_default
        self._unknown_seen: set[str] = set()

    @property
    def selects_everything_but_defaults(self) -> bool:
        """True when no filter is configured, so only the default exclusions apply."""
        return not self.log_types and self.log_level is None and not self.categories

    def accepts(self, event: Mapping[str, Any]) -> bool:
        """Return True if the event's type is selected."""
        code = event.get("type")
        if not isinstance(code, str):
            code = ""
        self._note_unknown(code)
        if self.selects_everything_but_defaults:
            return code not in self.excluded_by_default
        if code in self.log_types:
            return True
        if self.log_level is not None and level_of(code) >= self.log_level:
            return True
        if self.categories:
            category = category_of(code)
            return category is None or category in self.categories
        return False

    def _note_unknown(self, code: str) -> None:
        if code in catalog() or code in self._unknown_seen:
            return
        self._unknown_seen.add(code)
        log.warning(
            "Log type %r is not in the catalog of known Auth0 codes; level and category filters "
            "treat it as critical and in every category, so they do not drop it.",
            code,
        )
