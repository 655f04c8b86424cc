"""The contract every action implements, and the context the engine hands to actions.

An action is a small pure object built once from a rule's parameters (:func:`build` in each
module). Scalar and text actions map one string to a :class:`Change`; ``drop`` and ``allow``
work on whole nodes and are carried out by the engine's document adapters. Nothing here does
I/O: keys, the partner, the scrubber and the restore mapping arrive in :class:`Context`.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from proxy.errors import PolicyError

if TYPE_CHECKING:
    from hashlib import _Hash

EMPTY: Mapping[str, str] = MappingProxyType({})


class Reach(enum.Enum):
    """What part of a selected node an action works on."""

    #: The node itself, whatever it holds (``drop``).
    NODE = "node"
    #: The node's children, filtered by name (``allow``).
    CHILDREN = "children"
    #: A single string or number; a container is an error (``replace``, ``tokenise`` …).
    SCALAR = "scalar"
    #: Every string under the node, the node's own included (``keep``, ``scrub``, ``restore``).
    LEAVES = "leaves"


class Phase(enum.IntEnum):
    """When an action runs: free text is scrubbed after every structured value is known."""

    STRUCTURED = 1
    FREE_TEXT = 2


class Syntax(enum.Enum):
    """The selector language of a policy, which is also the family of its documents."""

    JSON = "json"
    XML = "xml"


class ParamError(Exception):
    """A rule's parameters are wrong; ``errors`` maps a parameter name to a message."""

    def __init__(self, errors: Sequence[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors))
        self.errors = tuple(errors)


@dataclass(frozen=True, slots=True)
class Partner:
    """The reseller/installer whose contact stands in for the end customer's."""

    id: str
    name: str
    phone: str
    email: str


@dataclass(frozen=True, slots=True)
class Keys:
    """Per-purpose secrets (derive them with :meth:`proxy.keys.KeyMaterial.derive`)."""

    #: Keyed commitments of removed values in decisions.
    commit: bytes
    #: Token derivation (per order) and token ids.
    token: bytes
    #: The ``hash`` action: a keyed pseudonym, linkable across orders by design.
    hash: bytes


class Scrubber(Protocol):
    """Free-text detector: replaces personal data in ``text``; returns the text and hit count."""

    def scrub(self, text: str, known: Sequence[str], allowed: Sequence[str]) -> tuple[str, int]:
        """Replace phones, e-mails, codici fiscali … and ``known`` values, except ``allowed``."""
        ...


@dataclass(frozen=True, slots=True)
class Context:
    """Everything an action may use besides the value: never personal data of other messages."""

    keys: Keys
    partner: Partner | None = None
    order_ref: str | None = None
    scrubber: Scrubber | None = None
    #: token -> original, for ``restore`` (from the vault, for this order).
    restore: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    #: decoy kind (``phone``, ``email``) -> this order's decoy, for ``alias`` (pre-assigned and
    #: durable before the engine runs: see ``proxy.decoys.service``).
    decoys: Mapping[str, str] = field(default_factory=lambda: EMPTY)
    #: ``partner``'s contacts compiled once by the caller (a ``proxy.detect.known.ValueSet``,
    #: cached per partner: configuration, not customer data), or None to compile them here.
    partner_allowed: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Env:
    """What the engine passes to an action call: the context plus what the message taught it."""

    context: Context
    #: Original values removed so far by structured rules ("known values" for ``scrub``).
    known: Sequence[str] = ()
    #: Values allowed to leave (partner contacts, ``keep`` values, values the policy wrote).
    allowed: Sequence[str] = ()


class IssuedToken(NamedTuple):
    """A token minted for one value of one order; the caller persists it in the vault.

    A named tuple, like :class:`Change` (built per tokenised value, in the same hot path).
    """

    id: str
    token: str
    original: str
    format: str


class Change(NamedTuple):
    """What an action did to one value. ``value`` None means the value stays as it is.

    A named tuple rather than a frozen dataclass: one is built per edited value, and a frozen
    dataclass pays an ``object.__setattr__`` per field (several times the cost of a tuple).
    """

    value: str | None = None
    #: The original left the message: commit to it and remember it as a known value.
    removed: bool = False
    #: Record a decision even though nothing was removed (``keep``, ``restore``).
    record: bool = False
    #: A value now allowed in the output (a ``keep`` value, a token, a partner contact).
    allowed: str | None = None
    token: IssuedToken | None = None
    token_id: str | None = None


UNCHANGED = Change()


class Action(Protocol):
    """A compiled action: ``name`` is the bare verb used in policies."""

    @property
    def name(self) -> str:
        """The bare verb (``drop``, ``tokenise`` …)."""
        ...

    @property
    def reach(self) -> Reach:
        """What part of a selected node the action works on."""
        ...

    @property
    def phase(self) -> Phase:
        """When the engine runs it."""
        ...

    def apply(self, value: str, env: Env) -> Change:
        """Transform one string (SCALAR and LEAVES actions only)."""
        ...


class ActionFactory(Protocol):
    """Builds an action from a rule's parameters, raising :class:`ParamError`."""

    def __call__(self, params: Mapping[str, Any], syntax: Syntax) -> Action:
        """Check ``params`` and return the compiled action."""
        ...


#: XOR tables for HMAC's inner and outer pads (RFC 2104), applied with ``bytes.translate``.
_IPAD = bytes(b ^ 0x36 for b in range(256))
_OPAD = bytes(b ^ 0x5C for b in range(256))
_BLOCK = 64  # SHA-256's block size
#: key -> SHA-256 states after the inner and outer pads. Bounded: a process holds a handful of
#: keys (commit, token, hash), tests make many; clearing costs only a recomputation.
_PADS: dict[bytes, tuple[_Hash, _Hash]] = {}
_MAX_KEYS = 64


def _pads(key: bytes) -> tuple[_Hash, _Hash]:
    if len(key) > _BLOCK:
        key = hashlib.sha256(key).digest()
    key = key.ljust(_BLOCK, b"\x00")
    return hashlib.sha256(key.translate(_IPAD)), hashlib.sha256(key.translate(_OPAD))


def mac(key: bytes, *parts: bytes) -> bytes:
    """HMAC-SHA256 of ``parts`` joined by NUL bytes (order refs and paths never contain NUL).

    The same bytes as ``hmac.digest(key, msg, "sha256")``, from SHA-256 states that already
    absorbed the key's pads: copying two states costs a third of setting up an HMAC per call,
    and the engine makes one per decision.
    """
    pads = _PADS.get(key)
    if pads is None:
        if len(_PADS) >= _MAX_KEYS:
            _PADS.clear()
        pads = _PADS[key] = _pads(key)
    inner = pads[0].copy()
    inner.update(b"\x00".join(parts))
    outer = pads[1].copy()
    outer.update(inner.digest())
    return outer.digest()


def require_order(env: Env, action: str) -> str:
    """The order reference, or a :class:`PolicyError` when the policy could not find one."""
    ref = env.context.order_ref
    if not ref:
        raise PolicyError(f"expected an order reference for {action}, got none")
    return ref


def no_value(action: str) -> PolicyError:
    """The error of a node action asked to transform a single value (an engine bug)."""
    return PolicyError(f"expected {action} to be applied to a node, got a value")
