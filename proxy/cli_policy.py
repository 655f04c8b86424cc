"""``civetta policy check | test | coverage``: the policy tools for ops.

``check`` loads every policy and the partner directory of a configuration and cross-checks each
selector against the interface schemas (:mod:`proxy.policy.crosscheck`), exactly as ``civetta
serve`` does at start and on reload (:mod:`proxy.checked_policies`), but whatever
``minimisation.crosscheck`` says: exit 1 with one ``file:line: message`` per problem, 0 with a
summary. ``test`` runs one message through a policy
as the proxy would (rules, then the egress guard) and prints the minimised message and a table
of decisions; nothing is sent, and tokens and hashes come from a throw-away key. ``coverage``
lists the personal-looking schema fields that no request rule of an outbound policy covers:
exit 1 if there are any. Usage and configuration errors exit 2.

Nothing printed holds a value of the message beyond the minimised message itself: decisions
show paths, rule ids and actions, and egress findings paths and kinds.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from proxy.checked_policies import load_checked
from proxy.config import Config, Direction, Route, load_config
from proxy.detect.egress import Finding, scan_json, scan_xml
from proxy.detect.scrubber import Scrubber
from proxy.engine import Context, Keys, Outcome, Partner, apply
from proxy.errors import CivettaError, ConfigError, PolicyError
from proxy.formats.json_body import parse_json, parse_json_patch, serialise_json
from proxy.formats.media import parse_media_type
from proxy.formats.patch import JsonPatchOp
from proxy.formats.soap import SOAP11_NS, SoapEnvelope, parse_soap, parse_xml, serialise_xml
from proxy.partners import PartnerDirectory
from proxy.policy.crosscheck import SchemaError, SchemaLibrary, coverage
from proxy.policy.model import JSON_KINDS, Policy, PolicySet

#: A subcommand: parsed arguments in, exit code out.
Command = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """The command cannot run as asked (exit 2); the message names no value."""


@dataclass(frozen=True, slots=True)
class Loaded:
    """A configuration with its policies and partners."""

    config: Config
    policies: PolicySet
    partners: PartnerDirectory


def _load(args: argparse.Namespace) -> tuple[Config, Path]:
    config = load_config(Path(args.config))
    # The proxy's own directory unless told otherwise: the check proves what serve will accept.
    schemas = Path(args.schemas) if args.schemas else config.minimisation.schemas_dir
    return config, schemas


# --------------------------------------------------------------------------------------------
# check


def _cmd_check(args: argparse.Namespace) -> int:
    config, schemas = _load(args)
    checked = load_checked(config, schemas, crosscheck=True)
    policies, partners, errors = checked.policies, checked.partners, checked.errors
    for line in errors:
        print(line)
    if errors or policies is None or partners is None:
        print(f"civetta policy check: {len(errors)} problem(s)", file=sys.stderr)
        return 1
    unchecked = [p.name for p in policies.policies if not p.schemas]
    files = len({p.file for p in policies.policies})
    selectors = sum(
        len(p.rules) + len(p.response) + (p.order_ref is not None) + len(p.order_ref_alternatives)
        for p in policies.policies
        if p.schemas
    )
    print(
        f"{config.minimisation.policies_dir}: ok: {len(policies.policies)} policies in {files} "
        f"files, {selectors} selectors cross-checked against {schemas}, {len(partners)} partners"
    )
    if unchecked:
        print(f"not cross-checked (no schema key): {', '.join(unchecked)}")
    if not config.minimisation.crosscheck:
        print("note: minimisation.crosscheck is false: civetta serve does not run this check")
    return 0


# --------------------------------------------------------------------------------------------
# test


def _kind(data: bytes, method: str, given: str | None) -> str:
    """The body kind: as given, else sniffed (XML envelope, JSON Patch list, merge-patch)."""
    if given is not None:
        return given
    if data.lstrip().startswith(b"<"):
        root = parse_xml(data).getroot()
        return "soap11" if root.tag == f"{{{SOAP11_NS}}}Envelope" else "soap12"
    doc = parse_json(data)
    if isinstance(doc, list) and doc and all(isinstance(op, dict) and "op" in op for op in doc):
        query = any("?" in str(op.get("path", "")) for op in doc)
        return "json-patch-query" if query else "json-patch"
    return "merge-patch" if method == "PATCH" else "json"


def _payload_name(data: bytes) -> str | None:
    """The local name of the first element in a SOAP Body (to guess the SOAP action)."""
    root = parse_xml(data).getroot()
    for part in root:
        if isinstance(part.tag, str) and part.tag.endswith("}Body"):
            first = next((c for c in part if isinstance(c.tag, str)), None)
            return None if first is None else first.tag.rsplit("}", 1)[-1]
    return None


def _action(policy: Policy, payload: str | None, given: str | None) -> str | None:
    """The SOAP action: as given, else the policy's action named after the payload element."""
    if given is not None or not policy.match.actions:
        return given
    # SOAPAction values such as urn:wholesale:ordering:v1:SubmitActivationOrder end in the
    # operation, whose request element has the same name in document/literal style.
    for action in policy.match.actions:
        if payload is not None and action.replace("/", ":").rsplit(":", 1)[-1] == payload:
            return action
    return None


def _literal_prefix(pattern: str) -> str:
    """The part of a ``match.path`` before its first placeholder or ``*``."""
    cut = [i for i in (pattern.find("{"), pattern.find("*")) if i >= 0]
    return pattern[: min(cut)] if cut else pattern


def _under(route: Route, pattern: str) -> bool:
    literal = _literal_prefix(pattern)
    prefix = route.path_prefix
    return literal.startswith(prefix) or prefix.startswith(literal)


def _by_specificity(policies: Sequence[Policy], route: Route) -> list[Policy]:
    """Policies for paths under the route: those written for it first, broader ones after."""
    prefix = route.path_prefix
    narrow = [p for p in policies if _literal_prefix(p.match.path).startswith(prefix)]
    broad = [
        p
        for p in policies
        if p not in narrow and p.match.pattern.fullmatch(prefix + "x") is not None
    ]
    return narrow + broad


def _choose(
    loaded: Loaded, args: argparse.Namespace, kind: str, payload: str | None
) -> tuple[Policy, str | None]:
    """The policy to test with, and the SOAP action (if any)."""
    policies = loaded.policies
    if args.policy is not None:
        policy = policies.named(args.policy)
        if policy is None:
            raise UsageError(f"expected a policy named {args.policy!r}, got none by that name")
        action = _action(policy, payload, args.action)
        if action is None and policy.match.actions:
            action = policy.match.actions[0]  # the policy was named: take its action
        return policy, action
    route = next((r for r in loaded.config.routes if r.name == args.route), None)
    if route is None:
        names = ", ".join(r.name for r in loaded.config.routes)
        raise UsageError(f"expected a route of the configuration ({names}), got {args.route!r}")
    method = args.method.upper()
    if args.path is not None and not args.path.startswith(route.path_prefix):
        raise UsageError(f"expected a path under {route.path_prefix}, got another")
    for policy in _by_specificity(policies.policies, route):
        action = _action(policy, payload, args.action)
        if args.path is not None:
            if policy.match.matches(method, args.path, action, kind):
                return policy, action
        elif (
            method in policy.match.methods
            and kind in policy.match.content
            and (not policy.match.actions or action in policy.match.actions)
        ):
            return policy, action
    raise UsageError(
        f"expected a policy covering {method} {kind} on route {route.name}, got none "
        "(name one with --policy)"
    )


def _parse(data: bytes, kind: str, action: str | None) -> Any:
    if kind in ("soap11", "soap12"):
        media = "text/xml" if kind == "soap11" else "application/soap+xml"
        if kind == "soap12" and action:
            media += f'; action="{action}"'
        soap_action = f'"{action or ""}"' if kind == "soap11" else None
        return parse_soap(data, parse_media_type(media), soap_action)
    if kind in ("json-patch", "json-patch-query"):
        return parse_json_patch(parse_json(data), query=kind == "json-patch-query")
    return parse_json(data)


def _partner(loaded: Loaded, policy: Policy, document: Any, given: str | None) -> Partner | None:
    partner_id = given
    if partner_id is None and policy.partner is not None and policy.partner.source == "body":
        partner_id = policy.partner.resolve({}, document)
    if partner_id is None:
        if policy.partner is not None:
            where = policy.partner.name
            raise UsageError(f"expected --partner ID (this policy reads the partner from {where})")
        return None
    partner = loaded.partners.get(partner_id)
    if partner is None:
        raise UsageError(f"expected a partner id of {loaded.partners.source}, got another")
    return partner


def _op_json(op: JsonPatchOp) -> dict[str, Any]:
    out: dict[str, Any] = {"op": op.op.value}
    out["path"] = op.path if op.query is None else f"{op.path}?{op.query}"
    if op.from_ is not None:
        out["from"] = op.from_
    if op.has_value:
        out["value"] = op.value
    return out


def minimised_bytes(kind: str, document: Any) -> bytes:
    """The bytes the proxy would send for ``document`` after the policy."""
    if isinstance(document, SoapEnvelope):
        return serialise_xml(document.tree)
    if kind in ("json-patch", "json-patch-query"):
        return serialise_json([_op_json(op) for op in document])
    return serialise_json(document)


def egress_findings(kind: str, outcome: Outcome, operational: Sequence[str]) -> list[Finding]:
    """What the egress guard would find in the minimised message."""
    allowed = (*outcome.allowed_values, *operational)
    document = outcome.document
    if kind in ("soap11", "soap12"):
        return scan_xml(document, allowed, outcome.removed_values)
    if kind in ("json-patch", "json-patch-query"):
        document = [_op_json(op) for op in document]
    return scan_json(document, allowed, outcome.removed_values)


def _table(rows: Sequence[tuple[str, str, str]]) -> list[str]:
    header = ("path", "rule", "action")
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(3)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in (header, *rows)]  # fmt: skip
    return [lines[0], "  ".join("-" * w for w in widths), *lines[1:]]


def _cmd_test(args: argparse.Namespace) -> int:
    config, _ = _load(args)
    checked = load_checked(config, crosscheck=False)  # only the files: this is not a check
    policies, partners = checked.policies, checked.partners
    if policies is None or partners is None:
        raise ConfigError(list(checked.errors))
    loaded = Loaded(config, policies, partners)
    data = Path(args.file).read_bytes()
    method = args.method.upper()
    kind = _kind(data, method, args.content)
    payload = _payload_name(data) if kind.startswith("soap") else None
    policy, action = _choose(loaded, args, kind, payload)
    if kind not in policy.match.content:
        raise UsageError(f"expected a body kind policy {policy.name} covers, got {kind}")
    document = _parse(data, kind, action)
    partner = _partner(loaded, policy, document, args.partner)
    # A throw-away key: the output shows the shape of tokens, never the proxy's real ones.
    keys = Keys(secrets.token_bytes(32), secrets.token_bytes(32), secrets.token_bytes(32))
    order_ref = policy.order_reference(document)
    context = Context(keys=keys, partner=partner, order_ref=order_ref, scrubber=Scrubber())
    try:
        outcome = apply(policy.rules, document, context)
    except PolicyError as exc:
        # The proxy would refuse the message (422): a failed check, not a usage error.
        print(f"policy {policy.name} cannot be applied: {exc.message}")
        return 1
    findings = egress_findings(kind, outcome, config.minimisation.operational_contacts)
    out = sys.stdout
    print(f"policy {policy.name} ({policy.file}:{policy.line}), body {kind}", file=out)
    print(f"partner {partner.id if partner else '-'}, order reference found: "
          f"{'yes' if order_ref else 'no'}", file=out)  # fmt: skip
    print("--- minimised message (nothing was sent) ---", file=out)
    print(minimised_bytes(kind, outcome.document).decode("utf-8", "replace"), file=out)
    print(f"--- decisions: {len(outcome.decisions)} ---", file=out)
    for line in _table([(d.path, d.rule, d.action) for d in outcome.decisions]):
        print(line, file=out)
    if not findings:
        print("--- egress guard: nothing found ---", file=out)
        return 0
    verdict = "would block" if policy.egress.value == "block" else "would scrub and report"
    print(f"--- egress guard: {len(findings)} finding(s), {verdict} ---", file=out)
    for finding in findings:
        print(f"{finding.path}  {finding.kind}", file=out)
    return 1


# --------------------------------------------------------------------------------------------
# coverage


def outbound(policy: Policy, routes: Sequence[Route]) -> bool:
    """Whether an outbound route serves the policy (only those send data to the incumbent)."""
    return any(r.direction is Direction.OUTBOUND and _under(r, policy.match.path) for r in routes)


def _cmd_coverage(args: argparse.Namespace) -> int:
    config, schemas = _load(args)
    loaded = load_checked(config, crosscheck=False)  # coverage reads the schemas itself
    policies = loaded.policies
    if policies is None:
        raise ConfigError(list(loaded.errors))
    library = SchemaLibrary(schemas)
    gaps = 0
    checked: list[str] = []
    skipped: list[str] = []
    for policy in policies.policies:
        if not policy.schemas or not outbound(policy, config.routes):
            skipped.append(policy.name)
            continue
        try:
            found = coverage(policy, library)
        except SchemaError as exc:
            print(f"{policy.file}:{policy.lines.get('schema', policy.line)}: {exc.message}")
            return 1
        checked.append(policy.name)
        for gap in found:
            print(f"{gap.where}: {policy.name}: {gap.field.path}: {gap.field.reason}, no rule")
        gaps += len(found)
    print(
        f"coverage: {len(checked)} outbound policies checked, {gaps} uncovered personal-looking "
        f"field(s); not checked (inbound, no outbound route or no schema): "
        f"{', '.join(skipped) or 'none'}"
    )
    return 1 if gaps else 0


# --------------------------------------------------------------------------------------------


def _guarded(fn: Command) -> Command:
    """Usage, I/O and parse errors become a message and exit 2; ConfigError goes to main()."""

    def run(args: argparse.Namespace) -> int:
        try:
            code: int = fn(args)
        except ConfigError:
            raise
        except (UsageError, OSError, json.JSONDecodeError) as exc:
            print(f"civetta policy {args.policy_command}: {exc}", file=sys.stderr)
            return 2
        except CivettaError as exc:
            print(f"civetta policy {args.policy_command}: {exc.message}", file=sys.stderr)
            return 2
        return code

    return run


def register(sub: Any) -> None:
    """Add ``policy check | test | coverage`` to the top-level sub-parsers."""

    def common(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--config", default=os.environ.get("CIVETTA_CONFIG", "config.example.yaml"))
        p.add_argument("--schemas", help="interface schemas (default: minimisation.schemas_dir)")
        return p

    policy = sub.add_parser("policy", help="policies: check, test, coverage")
    cmds = policy.add_subparsers(dest="policy_command", required=True)
    p = common(cmds.add_parser("check", help="load and cross-check every policy"))
    p.set_defaults(func=_guarded(_cmd_check))
    p = common(cmds.add_parser("test", help="minimise one message locally and explain"))
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--route", help="a route name of the configuration")
    which.add_argument("--policy", help="a policy name")
    p.add_argument("file", help="the message body (JSON or a SOAP envelope)")
    p.add_argument("--partner", help="partner id (as the X-Partner-Id header would name it)")
    p.add_argument("--method", default="POST", help="request method (default POST)")
    p.add_argument("--path", help="request path, to match the policy as the proxy does")
    p.add_argument("--action", help="SOAP action (default: guessed from the payload element)")
    p.add_argument("--content", choices=[*JSON_KINDS, "soap11", "soap12"], help="body kind")
    p.set_defaults(func=_guarded(_cmd_test))
    p = common(cmds.add_parser("coverage", help="personal-looking schema fields no rule covers"))
    p.set_defaults(func=_guarded(_cmd_coverage))


__all__ = ["Loaded", "UsageError", "egress_findings", "minimised_bytes", "outbound", "register"]
