"""The TMF REST APIs the sandbox incumbent serves, and what differs between them.

Five resource collections, each at one API version, each with its own hub:

==========  ===========================================  ==============  =====================
key         base path                                    resource        create / resource
==========  ===========================================  ==============  =====================
tmf622-v4   /tmf-api/productOrderingManagement/v4        productOrder    ProductOrder_Create
tmf622-v5   /tmf-api/productOrderingManagement/v5        productOrder    ProductOrder_FVO
tmf641-v4   /tmf-api/serviceOrdering/v4                  serviceOrder    ServiceOrder_Create
tmf621-v4   /tmf-api/troubleTicket/v4                    troubleTicket   TroubleTicket_Create
tmf621-v5   /tmf-api/troubleTicket/v5                    troubleTicket   TroubleTicket_FVO
==========  ===========================================  ==============  =====================

The key is also the stem of the schema file in ``schemas/tmf/``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: A JSON object as the sandbox stores and sends it.
JsonObject = dict[str, Any]

#: Event kinds shared by every API; the status change kind is per API (``TmfApi.status_kind``).
CREATE = "Create"
ATTRIBUTE_VALUE_CHANGE = "AttributeValueChange"
DELETE = "Delete"
INFORMATION_REQUIRED = "InformationRequired"


class TmfProblem(Exception):
    """A TMF ``Error`` the sandbox answers with; the message names paths, never values."""

    def __init__(self, status: int, code: str, reason: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.reason = reason
        self.message = message


@dataclass(frozen=True, slots=True)
class TmfApi:
    """One TMF resource collection at one API version."""

    key: str
    base: str
    resource: str
    version: int
    create_def: str
    resource_def: str
    #: ``state`` for orders, ``status`` for trouble tickets.
    status_field: str
    #: ``StateChange`` for orders, ``StatusChange`` for trouble tickets.
    status_kind: str
    #: Date fields the provider sets when it creates the resource.
    created_fields: tuple[str, ...]
    #: Date field the provider refreshes on every change, if any.
    updated_field: str | None
    #: Order items, which carry their own state.
    item_field: str | None
    #: The ``domain`` of the notification envelope.
    domain: str

    @property
    def collection(self) -> str:
        """The collection path, e.g. ``/tmf-api/troubleTicket/v5/troubleTicket``."""
        return f"{self.base}/{self.resource}"

    @property
    def hub(self) -> str:
        """The hub path where listeners register."""
        return f"{self.base}/hub"

    @property
    def schema_file(self) -> str:
        """The schema file name in ``schemas/tmf/``."""
        return f"{self.key}.schema.json"

    @property
    def time_field(self) -> str:
        """The envelope's occurrence time: v4 spells it ``timeOcurred``, v5 ``timeOccurred``."""
        return "timeOcurred" if self.version == 4 else "timeOccurred"

    @property
    def resource_class(self) -> str:
        """The resource's class name, e.g. ``ProductOrder``."""
        return self.resource[:1].upper() + self.resource[1:]

    def event_type(self, kind: str) -> str:
        """The envelope's ``eventType``, e.g. ``ProductOrderStateChangeEvent``."""
        return f"{self.resource_class}{kind}Event"

    def listener_name(self, kind: str) -> str:
        """The listener path segment, e.g. ``productOrderStateChangeEvent``."""
        return f"{self.resource}{kind}Event"


def _order(key: str, base: str, resource: str, version: int, create_def: str) -> TmfApi:
    return TmfApi(
        key=key,
        base=base,
        resource=resource,
        version=version,
        create_def=create_def,
        resource_def=resource[:1].upper() + resource[1:],
        status_field="state",
        status_kind="StateChange",
        created_fields=("orderDate",) if version == 4 else ("creationDate",),
        updated_field=None,
        item_field=f"{resource}Item",
        domain=base.split("/")[2],
    )


def _ticket(key: str, version: int, create_def: str) -> TmfApi:
    return TmfApi(
        key=key,
        base=f"/tmf-api/troubleTicket/v{version}",
        resource="troubleTicket",
        version=version,
        create_def=create_def,
        resource_def="TroubleTicket",
        status_field="status",
        status_kind="StatusChange",
        created_fields=("creationDate", "lastUpdate", "statusChangeDate"),
        updated_field="lastUpdate",
        item_field=None,
        domain="troubleTicket",
    )


APIS: tuple[TmfApi, ...] = (
    _order(
        "tmf622-v4",
        "/tmf-api/productOrderingManagement/v4",
        "productOrder",
        4,
        "ProductOrder_Create",
    ),
    _order(
        "tmf622-v5", "/tmf-api/productOrderingManagement/v5", "productOrder", 5, "ProductOrder_FVO"
    ),
    _order("tmf641-v4", "/tmf-api/serviceOrdering/v4", "serviceOrder", 4, "ServiceOrder_Create"),
    _ticket("tmf621-v4", 4, "TroubleTicket_Create"),
    _ticket("tmf621-v5", 5, "TroubleTicket_FVO"),
)


def api_by_key(key: str) -> TmfApi:
    """The API with this key; ``KeyError`` if there is none."""
    for api in APIS:
        if api.key == key:
            return api
    raise KeyError(key)


def now() -> str:
    """The current time as TMF writes it: RFC 3339, UTC, milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_id() -> str:
    """A fresh resource, subscription or event identifier."""
    return uuid.uuid4().hex
