"""civetta: a data-minimisation proxy for wholesale order submission."""

from __future__ import annotations

__version__ = "0.1.0"
