"""Route matching: longest prefix, method check, fail closed."""

from __future__ import annotations

import pytest

from proxy.errors import MethodNotAllowed, RouteNotFound
from proxy.routing import Router
from proxy.testing import route


def test_longest_prefix_wins() -> None:
    """A more specific prefix takes precedence over a general one, whatever the order given."""
    router = Router(
        [
            route("general", "/tmf-api/", "http://a"),
            route("specific", "/tmf-api/troubleTicket/v4/", "http://b"),
        ]
    )
    assert router.match("POST", "/tmf-api/troubleTicket/v4/troubleTicket").name == "specific"
    assert router.match("POST", "/tmf-api/other").name == "general"


def test_unknown_path_is_refused() -> None:
    """No route: 404, never a default forward."""
    with pytest.raises(RouteNotFound):
        Router([route("a", "/tmf-api/", "http://a")]).match("GET", "/admin")


def test_method_outside_the_route_is_405() -> None:
    """A path that matches with a method that does not is refused with 405."""
    router = Router([route("a", "/ws/", "http://a", methods=["POST"])])
    with pytest.raises(MethodNotAllowed):
        router.match("GET", "/ws/x")


def test_same_prefix_split_by_method() -> None:
    """Two routes may share a prefix when their methods differ."""
    router = Router(
        [
            route("reads", "/x/", "http://a", methods=["GET"]),
            route("writes", "/x/", "http://b", methods=["POST"]),
        ]
    )
    assert router.match("GET", "/x/1").name == "reads"
    assert router.match("POST", "/x/1").name == "writes"
