"""The dashboard's lists, rendered once per change to the therapist's caseload (issue 23).

The dashboard below its emergency notices (``_dashboard_body.html``: notes to sign, safety flags, goals due,
today's and the coming week's sessions, the tools' alerts, the client list) takes a dozen statements and most
of the page's CPU, and it is the same page until something in the therapist's caseload changes or the day
turns. Each worker keeps the rendered HTML under a key the database gives: the therapist's id and
``caseload_version`` (raised in the same transaction as any change to their clients' records:
:mod:`cadenza.clinic.caseload_version`; it comes with the login row every request reads), the day (UTC and
the server's local date), the page of the client list and the account's role. A change made through any
worker raises the version, so no worker shows a list older than what the database held when the request
began; a version never seen is computed afresh. Kept in memory, least recently used first out, at most
:data:`MAX_ENTRIES` pages per worker.

Most changes to a caseload are documented sessions, which leave the client list, the bookings and the tools'
alerts as they were; those three lists' rows (:class:`RosterLists`) are kept apart under
``roster_version`` (:func:`roster_key`; raised only by the changes that can move them), so a body computed
after a session write reads and audits the client list from its kept rows and computes the session lists,
goals and safety flags only. Both kinds of entry share the one LRU.

What is not kept: the emergency notices (a grant expires by the clock) and the page around the body (the
CSRF token). Every view still writes the same audit events as the lists it shows
(:func:`cadenza.clinic.dashboard.audit_dashboard_view`).
"""

from __future__ import annotations

import datetime as dt
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any

from markupsafe import Markup

from cadenza.clinic.models import Therapist
from cadenza.clinic.paging import Page

MAX_ENTRIES = 256  # about 15 kB each: a few MB per worker at most


class DashboardCache:
    """A thread-safe LRU of rendered dashboard bodies (:class:`~markupsafe.Markup`) by :func:`dashboard_key` and
    of :class:`RosterLists` by :func:`roster_key`."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        if isinstance(max_entries, bool) or not isinstance(max_entries, int) or max_entries < 1:
            raise ValueError(f"max_entries must be a whole number >= 1, got {max_entries!r}")
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any:
        with self._lock:
            body = self._entries.get(key)
            if body is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return body

    def put(self, key: Hashable, body: Any) -> None:
        with self._lock:
            self._entries[key] = body
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def dashboard_key(user: Therapist, *, today: dt.date, limit: int, after: str | None, before: str | None) -> tuple:
    """What the dashboard body depends on: the account (its row's identity and role), its caseload version,
    the day (UTC, and the server's local date, which some tools count days by) and the client-list page."""
    return (user.id, user.created_at, user.role, user.caseload_version, today, dt.date.today(), limit, after, before)


@dataclass(frozen=True)
class RosterLists:
    """The dashboard lists a session write leaves alone, as computed: the client list's page
    (:class:`~cadenza.clinic.dashboard_lists.ClientLine` items), the coming week's bookings
    (:class:`~cadenza.clinic.dashboard_lists.PlannedRow`) and the tools' alerts for the clients listed (each
    ``(client line, tool title, tool page, alert)``). Only immutable rows: one copy serves every thread."""

    clients: Page
    planned: tuple
    home_alerts: tuple


def roster_key(user: Therapist, *, today: dt.date, limit: int, after: str | None, before: str | None) -> tuple:
    """What :class:`RosterLists` depend on: as :func:`dashboard_key`, with the roster version in place of the
    caseload version."""
    return ("roster", user.id, user.created_at, user.role, user.roster_version, today, dt.date.today(), limit, after,
            before)
