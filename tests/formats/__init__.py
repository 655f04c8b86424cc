"""Tests for :mod:`proxy.formats`: attacks, round trips and the wording of errors."""
