"""Decoy contacts: a per-order phone number or e-mail alias that turns leaks into evidence.

Each order gets its own decoy from the operator's pools (:mod:`proxy.decoys.pool`), the same one
for every message of the order (:mod:`proxy.decoys.service`). The operator's switch and mail
relay forward a decoy to the partner's real contact (:mod:`proxy.decoys.routing`), so the
incumbent's genuine technician still gets through; every call, SMS or mail on a decoy is
recorded and classified (:mod:`proxy.decoys.contacts`); a customer value civetta never sent
that comes back from the incumbent is an echo (:mod:`proxy.decoys.echo`). See docs/decoys.md.

This package's ``__init__`` imports nothing, so that :mod:`proxy.config` can use
:mod:`proxy.decoys.settings` without pulling in the audit log or the store.
"""
