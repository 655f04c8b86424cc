"""Persistence behind one :class:`Store` protocol: SQLite (default), PostgreSQL, memory (tests)."""

from __future__ import annotations

from proxy.storage.base import Store, StoreError, Subscription, open_store

__all__ = ["Store", "StoreError", "Subscription", "open_store"]
