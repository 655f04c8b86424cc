"""TMF hub registrations rewritten so that notifications come back through civetta.

An OSS registers ``POST {api}/hub`` with ``{"callback": "https://oss/…", "query": …}``. Left
alone, the incumbent would post its events (with the resource, contacts included) straight to
the OSS, around civetta: nothing restored, nothing audited, no echo detected. So civetta keeps
the OSS's callback, gives the incumbent ``{public incumbent-facing URL}/_civetta/hub/{id}``
instead, and puts the OSS's callback back into the incumbent's answer. Events arriving under
``/_civetta/hub/{id}/…`` are forwarded to the registered callback plus the rest of the path
(``/listener/productOrderStateChangeEvent``).

Pure functions; the handler does the I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from proxy.config import HUB_PREFIX
from proxy.errors import BodyError

_ID = re.compile(r"[0-9a-f]{32}")


def is_registration(method: str, path: str) -> bool:
    """``POST …/hub``: a TMF event subscription."""
    return method == "POST" and path.rstrip("/").endswith("/hub")


def callback_url(public_url: str, sub_id: str) -> str:
    """The URL the incumbent is given for subscription ``sub_id``."""
    return public_url.rstrip("/") + HUB_PREFIX + sub_id


@dataclass(frozen=True, slots=True)
class Rewritten:
    """A registration with civetta's callback in place of the OSS's."""

    document: dict[str, Any]
    original: str
    replacement: str


def rewrite_registration(document: Any, public_url: str, sub_id: str) -> Rewritten:
    """Swap the callback; refuse a registration without one (it could not be routed back)."""
    if not isinstance(document, dict) or not isinstance(document.get("callback"), str):
        raise BodyError(
            "expected a hub registration with a string callback at $.callback, got none"
        )
    original = document["callback"]
    if not original.startswith(("http://", "https://")):
        raise BodyError("expected an absolute http(s) URL at $.callback, got another form")
    replacement = callback_url(public_url, sub_id)
    return Rewritten({**document, "callback": replacement}, original, replacement)


def restore_registration(document: Any, rewritten: Rewritten) -> Any:
    """Put the OSS's callback back into the incumbent's answer (the OSS must see its own)."""
    if isinstance(document, dict) and document.get("callback") == rewritten.replacement:
        return {**document, "callback": rewritten.original}
    return document


def split_callback_path(path: str) -> tuple[str, str] | None:
    """``/_civetta/hub/{id}/rest`` -> ``(id, "/rest")``; None for anything else."""
    if not path.startswith(HUB_PREFIX):
        return None
    sub_id, _, rest = path[len(HUB_PREFIX) :].partition("/")
    if not _ID.fullmatch(sub_id):
        return None
    return sub_id, "/" + rest if rest else ""
