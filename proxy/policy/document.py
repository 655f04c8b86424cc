"""What the engine edits through: documents, selected nodes and editable strings (slots).

One adapter per document family (:mod:`proxy.policy.jsondoc`, :mod:`proxy.policy.xmldoc`)
implements these protocols, so the engine's steps are written once. Removals are deferred to
:meth:`Document.finish`: paths stay those of the message as received (what the audit commits
to) and a later rule never sees a node an earlier rule dropped.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from proxy.policy.selectors import Selector


class Slot(Protocol):
    """One editable string: a JSON string or number, an XML text, tail or attribute value."""

    @property
    def path(self) -> str:
        """Where it is, for decisions (never its value)."""
        ...

    @property
    def text(self) -> str:
        """The current value (numbers as their JSON text)."""
        ...

    @property
    def ident(self) -> object:
        """A cheap identity, equal for two slots of the same place (for deduplication)."""
        ...

    def set(self, text: str) -> None:
        """Replace the value in the document."""
        ...


class Node(Protocol):
    """One selected node."""

    @property
    def path(self) -> str:
        """Where it is, for decisions."""
        ...

    def scalar(self) -> Slot | None:
        """The node as one string; None when there is nothing to minimise (null, empty).

        Raises :class:`~proxy.errors.PolicyError` when the node is a container.
        """
        ...

    def leaves(self) -> Iterator[Slot]:
        """Every non-blank string at or below the node, not under a dropped node."""
        ...

    def drop(self) -> None:
        """Mark the node for removal at :meth:`Document.finish`."""
        ...

    def canonical(self) -> bytes:
        """A canonical encoding of the node's content, for the commitment of a removal."""
        ...

    def removed_texts(self) -> list[str]:
        """The strings a removal takes away that may identify someone (for known values)."""
        ...

    def children(self) -> Iterator[tuple[str, Node]]:
        """Named children, for ``allow``."""
        ...


class Document(Protocol):
    """A message body being minimised."""

    def select(self, selector: Selector) -> Iterator[Node]:
        """Nodes the selector matches, skipping those under a dropped node."""
        ...

    def finish(self) -> Any:
        """Carry out the removals and return the document (edited in place where possible)."""
        ...
