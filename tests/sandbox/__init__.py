"""Tests of the simulated incumbent (:mod:`proxy.sandbox`)."""
