"""The simulated incumbent used by ``make run``, demos and the end-to-end tests."""

from __future__ import annotations
