"""``allow``: allow-list mode for a subtree; only the listed children survive.

Selected on an object (JSON) or an element (XML), every child not named in ``children`` is
dropped, so that a field the policy never heard of (an OSS extension, a vendor element) cannot
carry personal data through. Names are JSON member names, or for XML ``{namespace}local``
element names and ``@name`` / ``@{namespace}name`` attributes. On a JSON array the rule
applies to each object in it. XML Schema instance attributes (``xsi:type``) always survive.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import Change, Env, ParamError, Phase, Reach, Syntax, no_value

_XML_NAME = re.compile(r"@?(\{[^{}\s]+\})?[A-Za-z_][\w.\-]*")
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
_XSI_ATTRIBUTE = "@{" + XSI_NS + "}"


#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ("children",)


@dataclass(frozen=True, slots=True)
class Allow:
    """Keep only ``children``; the engine drops the others."""

    children: frozenset[str]

    name: ClassVar[str] = "allow"
    reach: ClassVar[Reach] = Reach.CHILDREN
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def permits(self, child: str) -> bool:
        """Whether a child named ``child`` (JSON key, Clark name, ``@`` + Clark name) survives."""
        return child in self.children or child.startswith(_XSI_ATTRIBUTE)

    def apply(self, value: str, env: Env) -> Change:
        """Never called: the engine filters children itself."""
        raise no_value(self.name)


def build(params: Mapping[str, Any], syntax: Syntax) -> Allow:
    """``children``: a non-empty list of names (for XML, Clark notation, never prefixes)."""
    children = params.get("children")
    if not isinstance(children, list) or not children:
        raise ParamError([("children", "expected a non-empty list of names")])
    errors: list[tuple[str, str]] = []
    for i, name in enumerate(children):
        if not isinstance(name, str) or not name:
            errors.append((f"children[{i}]", "expected a non-empty string"))
        elif syntax is Syntax.XML and not _XML_NAME.fullmatch(name):
            errors.append((f"children[{i}]", f"expected {{namespace}}local or @name, got {name!r}"))
    if errors:
        raise ParamError(errors)
    return Allow(frozenset(children))
