"""Route matching: longest path prefix on the listener's direction, then the method."""

from __future__ import annotations

from collections.abc import Iterable

from proxy.config import Route
from proxy.errors import MethodNotAllowed, RouteNotFound


class Router:
    """Finds the route for a request, or refuses it (fail closed: no route, no forwarding)."""

    def __init__(self, routes: Iterable[Route]) -> None:
        self.routes = tuple(sorted(routes, key=lambda r: len(r.path_prefix), reverse=True))

    def match(self, method: str, path: str) -> Route:
        """The route for ``method`` and ``path``; 404 when no prefix matches, 405 when no method does."""
        prefix_matched = False
        for route in self.routes:
            if route.matches_path(path):
                prefix_matched = True
                if method in route.methods:
                    return route
        if prefix_matched:
            raise MethodNotAllowed(f"expected a method this route allows, got {method}")
        raise RouteNotFound("expected a path under a configured route, got none matching")
