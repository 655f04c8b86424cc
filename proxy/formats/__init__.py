"""Wire formats: one module per format, each turning bytes into a document and back."""

from __future__ import annotations
