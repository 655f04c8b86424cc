"""The sandbox incumbent's memory: TMF resources and hub subscriptions, per API."""

from __future__ import annotations

import copy
from dataclasses import dataclass

from aiohttp import web

from proxy.sandbox.tmf_model import JsonObject


@dataclass(frozen=True, slots=True)
class Subscription:
    """A listener registered on a hub: ``POST {base}/hub``."""

    id: str
    callback: str
    query: str

    def to_json(self) -> JsonObject:
        """The ``EventSubscription`` representation."""
        return {"id": self.id, "callback": self.callback, "query": self.query}


class TmfStore:
    """Resources and subscriptions in memory, keyed by API key and id.

    Reads hand out deep copies, so that a handler editing what it got (a PATCH) changes the
    store only when it puts the result back.
    """

    def __init__(self) -> None:
        self._resources: dict[str, dict[str, JsonObject]] = {}
        self._correlation: dict[tuple[str, str], str] = {}
        self._subscriptions: dict[str, dict[str, Subscription]] = {}

    def put(self, api_key: str, resource: JsonObject) -> None:
        """Store ``resource`` (a copy of it) under its ``id``, replacing any earlier version."""
        self._resources.setdefault(api_key, {})[resource["id"]] = copy.deepcopy(resource)

    def get(self, api_key: str, resource_id: str) -> JsonObject | None:
        """A copy of the resource, or ``None``."""
        found = self._resources.get(api_key, {}).get(resource_id)
        return copy.deepcopy(found) if found is not None else None

    def remove(self, api_key: str, resource_id: str) -> JsonObject | None:
        """Forget the resource; return it, or ``None`` if it was unknown."""
        self._correlation.pop((api_key, resource_id), None)
        return self._resources.get(api_key, {}).pop(resource_id, None)

    def all(self, api_key: str) -> list[JsonObject]:
        """Copies of every resource of the API, oldest first."""
        return [copy.deepcopy(r) for r in self._resources.get(api_key, {}).values()]

    def set_correlation(self, api_key: str, resource_id: str, correlation_id: str) -> None:
        """Remember the correlation id of the request that created the resource."""
        self._correlation[(api_key, resource_id)] = correlation_id

    def correlation(self, api_key: str, resource_id: str) -> str:
        """The correlation id to put in the resource's events (its id by default)."""
        return self._correlation.get((api_key, resource_id), resource_id)

    def subscribe(self, api_key: str, subscription: Subscription) -> None:
        """Register a listener."""
        self._subscriptions.setdefault(api_key, {})[subscription.id] = subscription

    def unsubscribe(self, api_key: str, subscription_id: str) -> bool:
        """Remove a listener; ``False`` if it was unknown."""
        return self._subscriptions.get(api_key, {}).pop(subscription_id, None) is not None

    def subscription(self, api_key: str, subscription_id: str) -> Subscription | None:
        """One listener, or ``None``."""
        return self._subscriptions.get(api_key, {}).get(subscription_id)

    def subscriptions(self, api_key: str) -> list[Subscription]:
        """Every listener of the API, in registration order."""
        return list(self._subscriptions.get(api_key, {}).values())


TMF_STORE = web.AppKey("sandbox_tmf_store", TmfStore)
