"""The sandbox incumbent's order book: what ``GetOrderStatus`` answers and callbacks carry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from lxml import etree

from proxy.sandbox.soap_messages import ORD_NS, HeaderInfo, SoapVersion, add, text, timestamp

#: The causale of a suspension for unreachable contacts (FiberCop/TIM procedure manuals).
CAUSALE_RECAPITI_ERRATI = "Recapiti telefonici errati – Time out KO"


@dataclass(frozen=True, slots=True)
class Referente:
    """A contact the incumbent's technicians call, as the order gave it."""

    nominativo: str
    telefono: str
    telefono_alternativo: str | None = None
    email: str | None = None
    fascia_reperibilita: str | None = None

    @classmethod
    def from_element(cls, node: etree._Element) -> Referente:
        """Read an ``ord:referente`` that already validated against the XSD."""
        return cls(
            nominativo=text(node, "nominativo") or "",
            telefono=text(node, "telefono") or "",
            telefono_alternativo=text(node, "telefonoAlternativo"),
            email=text(node, "email"),
            fascia_reperibilita=text(node, "fasciaReperibilita"),
        )

    def append_to(self, parent: etree._Element) -> None:
        """Append this contact to ``parent`` as an ``ord:referente``, in schema order."""
        node = etree.SubElement(parent, f"{{{ORD_NS}}}referente")
        add(node, "nominativo", self.nominativo)
        add(node, "telefono", self.telefono)
        add(node, "telefonoAlternativo", self.telefono_alternativo)
        add(node, "email", self.email)
        add(node, "fasciaReperibilita", self.fascia_reperibilita)


@dataclass(frozen=True, slots=True)
class Callback:
    """Where and how the incumbent notifies the OLO about one order."""

    url: str
    version: SoapVersion
    header: HeaderInfo
    #: The order's ``wsa:MessageID``: set when the order used WS-Addressing, so that the
    #: notification answers in kind (``wsa:RelatesTo``).
    relates_to: str | None


@dataclass(frozen=True, slots=True)
class Order:
    """One activation order at one point of its life."""

    codice_ordine_olo: str
    id_ordine_wholesale: str
    stato: str
    data_stato: datetime
    referenti: tuple[Referente, ...]
    causale: str | None = None


class OrderBook:
    """The latest state of every order, by ``codiceOrdineOLO``; bounded, oldest dropped first."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._orders: dict[str, Order] = {}
        self._seq = 0
        self._capacity = capacity

    def next_id(self, kind: str) -> str:
        """A fresh wholesale id such as ``ORD-2025-00000001`` (pattern ``IdWholesale``)."""
        self._seq += 1
        return f"{kind}-{datetime.now(UTC).year}-{self._seq:08d}"

    def put(self, order: Order) -> None:
        """Record ``order`` as the current state of its ``codiceOrdineOLO``."""
        self._orders.pop(order.codice_ordine_olo, None)
        self._orders[order.codice_ordine_olo] = order
        while len(self._orders) > self._capacity:
            del self._orders[next(iter(self._orders))]

    def get(self, codice_ordine_olo: str) -> Order | None:
        """The current state of an order, or None when the incumbent does not know it."""
        return self._orders.get(codice_ordine_olo)


def status_payload(order: Order, local_name: str) -> etree._Element:
    """``GetOrderStatusResponse`` or ``NotifyOrderStatus`` without ``referentiContattati``."""
    node = etree.Element(f"{{{ORD_NS}}}{local_name}")
    add(node, "codiceOrdineOLO", order.codice_ordine_olo)
    add(node, "idOrdineWholesale", order.id_ordine_wholesale)
    add(node, "stato", order.stato)
    add(node, "causale", order.causale)
    add(node, "dataStato", timestamp(order.data_stato))
    return node


def notification_payload(order: Order, contacted: tuple[Referente, ...]) -> etree._Element:
    """``NotifyOrderStatus``, with the contacts the technicians tried, if any."""
    node = status_payload(order, "NotifyOrderStatus")
    if contacted:
        contacts = etree.SubElement(node, f"{{{ORD_NS}}}referentiContattati")
        for referente in contacted:
            referente.append_to(contacts)
    return node
