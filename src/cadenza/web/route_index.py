"""Skip the routers a request's path cannot reach (issue 23: route matching was about 8 % of a light request).

The app includes some twenty routers (the core's pages, the JSON API, each tool's pages), and the router
asks each in turn whether it matches; each one runs its routes' regular expressions, so a request for
``/api/v1/clients/7/measurements`` was tried against every page route first (~0.15 ms). A route's path
is matched whole, so it can only match a path that starts with its fixed part (everything before the first
``{``; the whole path when it has no parameter). A router none of whose routes' fixed parts fit the request's
path cannot match it, fully or partly (a partial match, the wrong method, needs the path to match too), so
answering "no match" for it without running its expressions changes nothing: the routers that remain are
asked in the same order, and the same route wins.

:func:`install` gives each included router of the app a ``matches`` that does that check first. A router
with a route that has no path (a host route) or whose path does not start with ``/`` is always asked.
Routes added to a router later are picked up (the check follows the router's routes version).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.routing import Match, get_route_path


@dataclass(frozen=True)
class PathFilter:
    """The paths a router's routes can match: one of ``exact`` (routes without parameters) or starting with
    one of ``prefixes`` (the fixed part of a route with parameters). ``everything`` when it cannot tell."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]
    everything: bool = False

    def admits(self, path: str) -> bool:
        """Whether a route of the router could match ``path``.

        >>> f = PathFilter.of(["/", "/clients/{client_id}", "/clients/new"])
        >>> f.admits("/"), f.admits("/clients/7"), f.admits("/clients"), f.admits("/api/v1/clients/7")
        (True, True, False, False)
        """
        return self.everything or path in self.exact or path.startswith(self.prefixes)

    @classmethod
    def of(cls, path_formats) -> PathFilter:
        exact, prefixes = set(), set()
        for path in path_formats:
            if not isinstance(path, str) or not path.startswith("/"):
                return cls(frozenset(), (), everything=True)
            fixed, brace, _ = path.partition("{")
            (prefixes if brace else exact).add(fixed)
        # a prefix that another prefix starts with adds nothing
        kept = tuple(sorted(p for p in prefixes if not any(p != q and p.startswith(q) for q in prefixes)))
        return cls(frozenset(exact), kept)


def path_filter(router: Any) -> PathFilter:
    """The :class:`PathFilter` of an included router's routes."""
    return PathFilter.of(getattr(context.starlette_route, "path_format", None) or getattr(context, "path_format", None)
                         for context in router.effective_route_contexts())


def _filtered_matches(router: Any):
    """``router.matches`` behind the router's :class:`PathFilter`."""
    original = router.matches
    known: dict[str, Any] = {"version": object(), "filter": None}

    def matches(scope: dict[str, Any]) -> tuple[Match, dict[str, Any]]:
        if scope.get("type") in ("http", "websocket"):
            version = router.original_router._get_routes_version()
            if version != known["version"]:
                known["filter"], known["version"] = path_filter(router), version
            if not known["filter"].admits(get_route_path(scope)):
                return Match.NONE, {}
        return original(scope)

    return matches


def install(app: Any) -> int:
    """Put the path check in front of every router the app includes; how many routers got it. Anything that
    is not an included router (a mount, a route added on the app itself) is left as it is."""
    count = 0
    for route in app.router.routes:
        if hasattr(route, "effective_route_contexts") and hasattr(route, "original_router"):
            route.matches = _filtered_matches(route)
            count += 1
    return count
