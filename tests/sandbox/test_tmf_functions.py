"""The pure parts of the TMF sandbox: patches, queries, envelopes, API naming."""

from __future__ import annotations

import re
from typing import Any

import pytest

from proxy.sandbox.tmf_events import envelope, listener_url, query_matches
from proxy.sandbox.tmf_model import TmfProblem, api_by_key, now
from proxy.sandbox.tmf_patch import (
    apply_json_patch,
    apply_json_patch_query,
    apply_patch,
    expand_query_path,
    merge_patch,
)
from proxy.sandbox.tmf_query import matches, non_negative, page, project, select

# RFC 7396 appendix A: (target, patch, result).
RFC7396 = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]

TICKET: dict[str, Any] = {
    "id": "1",
    "note": [{"id": "7", "text": "a"}, {"id": "8", "text": "b"}, {"id": "7", "text": "c"}],
}


@pytest.mark.parametrize(("target", "patch", "result"), RFC7396)
def test_merge_patch_follows_rfc_7396(target: Any, patch: Any, result: Any) -> None:
    """Every example of RFC 7396 appendix A gives the RFC's result."""
    assert merge_patch(target, patch) == result


def test_merge_patch_leaves_the_target_alone() -> None:
    """The target is copied, not edited in place."""
    target = {"a": {"b": 1}}
    merge_patch(target, {"a": {"b": 2}})
    assert target == {"a": {"b": 1}}


def test_json_patch_is_atomic_and_names_the_failing_operation() -> None:
    """A failing operation leaves the document as it was; the error names op and path only."""
    document = {"id": "1", "secret": "Mario Rossi"}
    ops = [
        {"op": "replace", "path": "/secret", "value": "x"},
        {"op": "test", "path": "/secret", "value": "Mario Rossi"},
    ]
    with pytest.raises(TmfProblem) as caught:
        apply_json_patch(document, ops)
    assert caught.value.message == (
        "operation $[1] (test /secret) cannot be applied: JsonPatchTestFailed"
    )
    assert document == {"id": "1", "secret": "Mario Rossi"}


def test_json_patch_refuses_malformed_operations() -> None:
    """Not an array, or an operation without a string op or path, is a 400."""
    for body, message in [
        ({"op": "add"}, "expected an array of operations at $, got object"),
        ([{"path": "/a"}], "expected an object with a string op at $[0]"),
        ([{"op": "add", "path": 3}], "expected a string path at $[0].path"),
    ]:
        with pytest.raises(TmfProblem) as caught:
            apply_json_patch({"id": "1"}, body)
        assert caught.value.status == 400
        assert caught.value.message == message


def test_query_path_expands_to_every_match_last_first() -> None:
    """``/note?id=7`` selects every note with id 7, highest index first."""
    assert expand_query_path(TICKET, "/note?id=7/text") == ["/note/2/text", "/note/0/text"]
    assert expand_query_path(TICKET, "/note?id=9") == []
    assert expand_query_path(TICKET, "/note/0") == ["/note/0"]


def test_patch_query_removes_selected_elements() -> None:
    """A remove through a query path removes every selected element, and nothing else."""
    patched = apply_json_patch_query(TICKET, [{"op": "remove", "path": "/note?id=7"}])
    assert patched["note"] == [{"id": "8", "text": "b"}]
    with pytest.raises(TmfProblem, match="selects nothing"):
        apply_json_patch_query(TICKET, [{"op": "remove", "path": "/note?id=9"}])


def test_apply_patch_dispatches_on_media_type() -> None:
    """Plain JSON is a merge patch; a merge patch must be an object."""
    assert apply_patch("application/json", {"a": 1}, {"b": 2}) == {"a": 1, "b": 2}
    with pytest.raises(TmfProblem, match="expected a merge patch object"):
        apply_patch("application/merge-patch+json", {"a": 1}, [])


def test_filters_descend_arrays_and_accept_alternatives() -> None:
    """Dotted names go through arrays; commas separate alternatives; scalars compare as text."""
    order = {
        "state": "held",
        "priority": 2,
        "relatedParty": [{"name": "Mario Rossi"}, {"name": "Fibra Veloce"}],
    }
    assert matches(order, "relatedParty.name", "Mario Rossi")
    assert matches(order, "state", "inProgress,held")
    assert matches(order, "priority", "2")
    assert not matches(order, "relatedParty.name", "Rossi")
    assert not matches(order, "relatedParty", "Mario Rossi")
    assert not matches(order, "creationDate.gt", "2025-01-01")


def test_select_ignores_reserved_parameters() -> None:
    """fields, offset, limit, sort are not filters; all other parameters must match."""
    items = [{"id": "1", "state": "held"}, {"id": "2", "state": "inProgress"}]
    chosen = select(items, [("fields", "id"), ("limit", "1"), ("state", "held")])
    assert [i["id"] for i in chosen] == ["1"]
    assert select(items, [("state", "held"), ("id", "2")]) == []


def test_projection_and_paging() -> None:
    """fields keeps the named first-level members plus id, href, @type; paging slices."""
    resource = {"id": "1", "href": "h", "@type": "T", "note": [], "state": "held"}
    assert project(resource, "state") == {"id": "1", "href": "h", "@type": "T", "state": "held"}
    assert project(resource, None) == resource
    items = [{"id": str(n)} for n in range(5)]
    assert page(items, 1, 2) == [{"id": "1"}, {"id": "2"}]
    assert page(items, 4, None) == [{"id": "4"}]
    assert non_negative("3", "limit") == 3
    with pytest.raises(TmfProblem, match="non-negative integer for offset"):
        non_negative("x", "offset")


def test_envelope_spells_the_time_per_version() -> None:
    """v4 writes timeOcurred and fieldPath; v5 timeOccurred, @type and informationRequired."""
    resource = {"id": "42", "state": "held"}
    need = {"op": "add", "path": "/relatedParty"}
    v4 = envelope(api_by_key("tmf622-v4"), "InformationRequired", resource, "c", field_path="/x")
    v5 = envelope(
        api_by_key("tmf622-v5"), "InformationRequired", resource, "c", information_required=need
    )
    assert "timeOcurred" in v4
    assert "timeOccurred" not in v4
    assert v4["fieldPath"] == "/x"
    assert v5["timeOccurred"] == v5["eventTime"]
    assert v5["@type"] == v5["eventType"] == "ProductOrderInformationRequiredEvent"
    assert v5["event"] == {"productOrder": resource, "informationRequired": need}
    assert v5["event"]["productOrder"] is not resource


def test_query_matching_rules() -> None:
    """Empty selects all; eventType accepts both spellings; other names filter the envelope."""
    event = {
        "eventType": "ProductOrderStateChangeEvent",
        "event": {"productOrder": {"state": "held"}},
    }
    assert query_matches("", event)
    assert query_matches("?eventType=ProductOrderStateChangeEvent", event)
    assert query_matches("eventType=productOrderStateChangeEvent,productOrderCreateEvent", event)
    assert not query_matches("eventType=ProductOrderCreateEvent", event)
    assert query_matches("event.productOrder.state=held", event)
    assert not query_matches("eventType=ProductOrderStateChangeEvent&domain=x", event)


def test_listener_url_and_names() -> None:
    """Events go to {callback}/listener/{lowerCamel name}; eventType is the UpperCamel name."""
    api = api_by_key("tmf621-v4")
    assert listener_url("http://oss/tmf/", api.listener_name("StatusChange")) == (
        "http://oss/tmf/listener/troubleTicketStatusChangeEvent"
    )
    assert api.event_type("StatusChange") == "TroubleTicketStatusChangeEvent"
    assert api.hub == "/tmf-api/troubleTicket/v4/hub"


def test_now_is_rfc_3339_utc_with_milliseconds() -> None:
    """Dates look like TMF's: 2025-03-03T10:15:00.000Z."""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", now())
