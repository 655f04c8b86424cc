"""The error of a selector that does not compile (reported by the loader as ``file:line``)."""

from __future__ import annotations


class SelectorError(ValueError):
    """A selector's syntax is wrong; the message says where and what was expected."""
