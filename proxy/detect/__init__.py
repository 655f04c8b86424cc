"""Free-text and egress detectors: phones, e-mails, codici fiscali, partite IVA, known values.

Pure functions and values, no I/O. :class:`Scrubber` cleans free text surgically (the ``scrub``
action); :func:`scan_json`, :func:`scan_xml`, :func:`scan_text`, :func:`scan_query` and
:func:`guard` are the egress guard (DESIGN.md §3 step 5). Both use :func:`finder.find`, so they
agree on what personal data is.
"""

from __future__ import annotations

from proxy.detect.egress import (
    Finding,
    GuardMode,
    guard,
    scan_json,
    scan_query,
    scan_text,
    scan_xml,
)
from proxy.detect.known import ValueSet
from proxy.detect.scrubber import PLACEHOLDER, Scrubber
from proxy.detect.spans import Kind, Match

__all__ = [
    "PLACEHOLDER",
    "Finding",
    "GuardMode",
    "Kind",
    "Match",
    "Scrubber",
    "ValueSet",
    "guard",
    "scan_json",
    "scan_query",
    "scan_text",
    "scan_xml",
]
