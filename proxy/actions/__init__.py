"""Actions: one small module per bare verb, registered in :mod:`proxy.actions.registry`."""

from __future__ import annotations
