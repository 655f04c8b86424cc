"""Policies against the interface schemas in ``schemas/``: selector cross-check and coverage.

The public names of the package, for the CLI and the proxy:

* :func:`crosscheck` / :func:`check_policy` (:mod:`.check`): every selector of a policy that
  names its ``schema`` can match what the schema declares, or an error ``file:line: message``;
* :func:`coverage` (:mod:`.rule_coverage`): the personal-looking schema fields
  (:func:`personal_reason`, :func:`policy_fields` in :mod:`.personal`) no request rule covers;
* :class:`SchemaLibrary` (:mod:`.library`): the schema files under one directory, read once;
  :func:`shared_library`, one per directory for the whole process.

The models they walk: :mod:`.json_schema` and :mod:`.json_selectors` (JSONPath over JSON
Schema), :mod:`.xsd` and :mod:`.xml_selectors` (XPath over XSD content models).
"""

from proxy.policy.crosscheck.check import check_policy, crosscheck
from proxy.policy.crosscheck.library import SchemaError, SchemaLibrary, shared_library
from proxy.policy.crosscheck.personal import (
    ENVELOPE,
    ENVELOPE_PART,
    Field,
    personal_reason,
    policy_fields,
)
from proxy.policy.crosscheck.rule_coverage import Gap, coverage
from proxy.policy.crosscheck.xml_selectors import XStep, parse_xpath_steps
from proxy.policy.crosscheck.xsd import XS

__all__ = [
    "ENVELOPE",
    "ENVELOPE_PART",
    "XS",
    "Field",
    "Gap",
    "SchemaError",
    "SchemaLibrary",
    "XStep",
    "check_policy",
    "coverage",
    "crosscheck",
    "parse_xpath_steps",
    "personal_reason",
    "policy_fields",
    "shared_library",
]
