"""The policies and the partner directory of a configuration, with every problem they have.

``civetta serve`` (and ``dev``) at start, every reload (SIGHUP, a changed file) and ``civetta
policy check`` load them through :func:`load_checked`, so that whatever the check refuses the
proxy refuses too: load errors of the policy files and of the partner directory, then the
cross-check of every selector against the interface schemas (DESIGN.md §4: a selector that
matches no declared element is an error, because a typo must not let personal data through).
Every problem is a ``file:line: message`` line naming paths, never values.

The schemas are ``minimisation.schemas_dir``. A missing directory is a problem of its own (an
installed package has no ``schemas/`` of its source tree): the proxy does not start on
policies it cannot check, unless the operator sets ``minimisation.crosscheck: false``, a choice
the proxy logs as a warning at every start.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from proxy.config import Config
from proxy.errors import ConfigError
from proxy.partners import PartnerDirectory, load_partners
from proxy.policy.crosscheck import crosscheck as crosscheck_policies
from proxy.policy.crosscheck import shared_library
from proxy.policy.load import load_policies
from proxy.policy.model import PolicySet


@dataclass(frozen=True, slots=True)
class Checked:
    """What loaded (None where a file failed) and every problem found, in file order."""

    policies: PolicySet | None
    partners: PartnerDirectory | None
    errors: tuple[str, ...]


def missing_schemas(config: Config, schemas_dir: Path) -> str | None:
    """The problem of a schemas directory that is not there, or None."""
    if schemas_dir.is_dir():
        return None
    return (
        f"{config.source}: minimisation.schemas_dir: expected a directory of interface schemas "
        f"to cross-check the policies against, got no directory at {schemas_dir} (name it in "
        "minimisation.schemas_dir, or set minimisation.crosscheck: false to run unchecked)"
    )


def load_checked(
    config: Config, schemas_dir: Path | None = None, *, crosscheck: bool | None = None
) -> Checked:
    """Load policies and partners and cross-check the policies; never raises ConfigError.

    ``schemas_dir`` defaults to ``minimisation.schemas_dir``, ``crosscheck`` to
    ``minimisation.crosscheck`` (``civetta policy check`` always checks).
    """
    m = config.minimisation
    errors: list[str] = []
    policies = partners = None
    try:
        policies = load_policies(m.policies_dir)
    except ConfigError as exc:
        errors.extend(exc.errors)
    try:
        partners = load_partners(m.partners_file)
    except ConfigError as exc:
        errors.extend(exc.errors)
    if m.crosscheck if crosscheck is None else crosscheck:
        root = m.schemas_dir if schemas_dir is None else schemas_dir
        missing = missing_schemas(config, root)
        if missing is not None:
            errors.append(missing)
        elif policies is not None:
            # Shared: what starts and reloads many times reads and walks the schemas once.
            errors.extend(crosscheck_policies(policies, root, shared_library(root)))
    return Checked(policies, partners, tuple(errors))
