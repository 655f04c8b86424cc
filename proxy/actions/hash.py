"""``hash``: a keyed pseudonym (HMAC-SHA256), never a bare hash.

A bare SHA-256 of a phone number or codice fiscale is reversed by enumerating the (small)
space of such values; a keyed HMAC is not, as long as the key stays in civetta. The key is
global, so the same value gets the same pseudonym across orders: use ``tokenise`` when orders
must be unlinkable.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from proxy.actions.base import Change, Env, ParamError, Phase, Reach, Syntax, mac

ENCODINGS = ("hex", "base64url")


#: The rule parameters this action accepts (beside ``id``, ``select``, ``action``).
PARAMS: tuple[str, ...] = ("encoding",)


@dataclass(frozen=True, slots=True)
class Hash:
    """HMAC-SHA256 under the hash key, hex or unpadded base64url."""

    encoding: str = "hex"

    name: ClassVar[str] = "hash"
    reach: ClassVar[Reach] = Reach.SCALAR
    phase: ClassVar[Phase] = Phase.STRUCTURED

    def apply(self, value: str, env: Env) -> Change:
        """The pseudonym; the original is removed."""
        digest = mac(env.context.keys.hash, b"civetta/hash", value.encode())
        if self.encoding == "hex":
            text = digest.hex()
        else:
            text = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return Change(text, True, False, text)  # (value, removed, record, allowed)


def build(params: Mapping[str, Any], syntax: Syntax) -> Hash:
    """``encoding``: ``hex`` (default) or ``base64url``."""
    encoding = params.get("encoding", "hex")
    if encoding not in ENCODINGS:
        raise ParamError(
            [("encoding", f"expected one of {', '.join(ENCODINGS)}, got {encoding!r}")]
        )
    return Hash(encoding)
