"""TMF notifications: envelopes, hub query matching and delivery to listeners.

Delivery URL rule: an event goes to ``{callback}/listener/{eventName}``, where ``callback`` is
the registered callback without a trailing slash and ``eventName`` is the lowerCamel event name
the TMF specs use for their listener paths: ``productOrderCreateEvent``,
``productOrderStateChangeEvent``, ``productOrderAttributeValueChangeEvent``,
``productOrderInformationRequiredEvent``, ``productOrderDeleteEvent``,
``serviceOrderStateChangeEvent``, ``troubleTicketStatusChangeEvent`` and so on. The envelope's
``eventType`` is the same name in UpperCamel (``ProductOrderStateChangeEvent``).

The envelope is ``{eventId, eventTime, eventType, correlationId, domain, title, description,
priority, timeOcurred (v4) | timeOccurred (v5), event: {<resource>: {...}}}``; v4 adds
``fieldPath`` for AttributeValueChange and InformationRequired, v5 adds ``@type`` and puts the
requested information in ``event.informationRequired``. Like an incumbent might, the sandbox
sends the full resource, contacts included, so the notification path carries personal data.

A hub ``query`` selects events: empty means all; ``eventType=A,B`` keeps those types (UpperCamel
or the lowerCamel listener name); any other ``name=value`` is an attribute filter on the
envelope, as in list queries (``event.productOrder.state=held``).

Each event is posted by a background task after ``notify_delay_s``; tasks for the same
listener origin (scheme, host, port) run one at a time, in the order the events happened and,
for one event, in the order the subscriptions were registered.
"""

from __future__ import annotations

import asyncio
import copy
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from yarl import URL

from proxy.sandbox.app import BACKGROUND, CLIENT, SETTINGS
from proxy.sandbox.tmf_model import JsonObject, TmfApi, new_id, now
from proxy.sandbox.tmf_query import matches
from proxy.sandbox.tmf_store import TMF_STORE


@dataclass(frozen=True, slots=True)
class Delivery:
    """One notification the sandbox posted, and what the listener answered."""

    url: str
    event_type: str
    event_id: str
    #: The listener's HTTP status, or ``None`` if it could not be reached.
    status: int | None

    def to_json(self) -> JsonObject:
        """JSON form, for ``GET /_sandbox/tmf/deliveries``."""
        return {
            "url": self.url,
            "eventType": self.event_type,
            "eventId": self.event_id,
            "status": self.status,
        }


def envelope(
    api: TmfApi,
    kind: str,
    resource: JsonObject,
    correlation_id: str,
    *,
    field_path: str | None = None,
    information_required: Any = None,
) -> JsonObject:
    """The notification for ``kind`` (``Create``, ``StateChange`` ...) about ``resource``."""
    at = now()
    event_type = api.event_type(kind)
    body: JsonObject = {
        "eventId": new_id(),
        "eventTime": at,
        "eventType": event_type,
        "correlationId": correlation_id,
        "domain": api.domain,
        "title": f"{api.resource_class} {kind}",
        "description": f"{event_type} for {api.resource} {resource.get('id', '')}".strip(),
        "priority": "normal",
        api.time_field: at,
        "event": {api.resource: copy.deepcopy(resource)},
    }
    if api.version == 4:
        if field_path is not None:
            body["fieldPath"] = field_path
    else:
        body["@type"] = event_type
        if information_required is not None:
            body["event"]["informationRequired"] = copy.deepcopy(information_required)
    return body


def query_matches(query: str, event: JsonObject) -> bool:
    """Whether a hub subscription's ``query`` selects ``event``."""
    for name, value in parse_qsl(query.strip().lstrip("?"), keep_blank_values=True):
        name = name.strip()
        if name == "eventType":
            wanted = {item.strip() for item in value.split(",")}
            event_type = str(event.get("eventType", ""))
            if event_type not in wanted and event_type[:1].lower() + event_type[1:] not in wanted:
                return False
        elif not matches(event, name, value.strip()):
            return False
    return True


def _origin(callback: str) -> str:
    try:
        return str(URL(callback).origin())
    except ValueError:
        return callback


def listener_url(callback: str, event_name: str) -> str:
    """Where an event goes: ``{callback}/listener/{eventName}``."""
    return f"{callback.rstrip('/')}/listener/{event_name}"


@dataclass(slots=True)
class Notifier:
    """Posts envelopes to matching listeners and keeps a log of what it posted."""

    deliveries: list[Delivery] = field(default_factory=list)
    _locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def publish(
        self,
        app: web.Application,
        api: TmfApi,
        kind: str,
        resource: JsonObject,
        *,
        field_path: str | None = None,
        information_required: Any = None,
    ) -> JsonObject | None:
        """Send the event to every matching listener of ``api``; ``None`` if switched off."""
        if not app[SETTINGS].notifications:
            return None
        store = app[TMF_STORE]
        correlation = store.correlation(api.key, str(resource.get("id", "")))
        event = envelope(
            api,
            kind,
            resource,
            correlation,
            field_path=field_path,
            information_required=information_required,
        )
        for subscription in store.subscriptions(api.key):
            if query_matches(subscription.query, event):
                url = listener_url(subscription.callback, api.listener_name(kind))
                lock = self._locks.setdefault(_origin(subscription.callback), asyncio.Lock())
                app[BACKGROUND].spawn(self._deliver(app, lock, url, event))
        return event

    async def _deliver(
        self, app: web.Application, lock: asyncio.Lock, url: str, event: JsonObject
    ) -> None:
        async with lock:
            await asyncio.sleep(app[SETTINGS].notify_delay_s)
            status: int | None
            try:
                async with app[CLIENT].post(url, json=event) as response:
                    await response.read()
                    status = response.status
            except (aiohttp.ClientError, TimeoutError):
                # A listener that is down is the OSS's problem; the incumbent moves on.
                status = None
            self.deliveries.append(Delivery(url, event["eventType"], event["eventId"], status))


async def _deliveries(request: web.Request) -> web.Response:
    log = request.app[TMF_NOTIFIER].deliveries
    return web.json_response({"deliveries": [d.to_json() for d in log]})


def add_routes(app: web.Application) -> None:
    """``GET /_sandbox/tmf/deliveries``: the notifications posted so far (never recorded)."""
    app.router.add_get("/_sandbox/tmf/deliveries", _deliveries)


TMF_NOTIFIER = web.AppKey("sandbox_tmf_notifier", Notifier)
