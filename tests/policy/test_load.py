"""Loading policies: both file shapes, every error at once as file:line, directory rules."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest

from proxy.actions.base import Syntax
from proxy.errors import ConfigError
from proxy.policy.load import load_policies, load_policy_text, policy_schema
from proxy.policy.model import Egress
from proxy.yamlsource import load_yaml_file

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "policy"


def errors_of(text: str, name: str = "p.yaml") -> list[str]:
    """The errors :func:`load_policy_text` reports (it must report some)."""
    with pytest.raises(ConfigError) as caught:
        load_policy_text(text, name)
    return caught.value.errors


def test_fixture_policies_load_and_compile() -> None:
    """The test fixtures load: selectors compiled, rules located, order kept."""
    policies = load_policies(FIXTURES)
    assert [p.name for p in policies.policies] == ["soap-activation", "tmf622-order"]
    tmf = policies.named("tmf622-order")
    assert tmf is not None
    assert tmf.syntax is Syntax.JSON and tmf.egress is Egress.BLOCK
    assert tmf.rules[0].id == "phone" and tmf.rules[0].line == 10
    assert tmf.rules[0].file.endswith("tmf622.yaml")
    assert tmf.response[0].action == "restore"
    soap = policies.named("soap-activation")
    assert soap is not None and soap.syntax is Syntax.XML
    assert soap.match.content == frozenset({"soap11", "soap12"})


def test_fixture_files_validate_against_the_shipped_schema() -> None:
    """Editors using schema.json accept what the loader accepts."""
    for path in sorted(FIXTURES.glob("*.yaml")):
        jsonschema.Draft202012Validator(policy_schema()).validate(load_yaml_file(path).data)


def test_single_mapping_form() -> None:
    """A file may hold one policy as a top-level mapping."""
    text = (
        "name: one\nmatch: {method: GET, path: /x}\nrules: [{id: a, select: $.a, action: drop}]\n"
    )
    (policy,) = load_policy_text(text, "one.yaml").policies
    assert (policy.name, policy.file, policy.line) == ("one", "one.yaml", 1)


MISTAKES = """\
policies:
  - name: tmf
    match: {method: POST, path: /tmf-api/x}
    rules:
      - {id: a, select: "$..phoneNumber", action: anonymise}
      - {id: b, select: "$.note[*", action: scrub}
      - {id: b, select: $.x, action: drop}
      - {id: c, select: $.y, action: replace, with: partner.phone}
      - {id: d, select: $.z, action: tokenise}
      - {id: e, select: $.w, action: mask, format: opaque}
      - {id: f, select: //x, action: drop}
      - {id: g, select: $.v, action: restore}
      - {id: h, select: $.u}
  - name: tmf
    match: {method: FETCH, path: tmf-api}
    rules: []
"""


def test_every_mistake_is_reported_with_its_line() -> None:
    """Schema and semantic mistakes of one file are all listed, each at its own line."""
    assert errors_of(MISTAKES, "tmf.yaml") == [
        "tmf.yaml:5: at policies[0].rules[0].action: expected one of 'drop', 'replace', 'tokenise', "
        "'alias', 'hash', 'mask', 'keep', 'scrub', 'allow', 'restore'",
        "tmf.yaml:6: at policies[0].rules[1].select: at character 9: expected ']', got the end",
        "tmf.yaml:7: at policies[0].rules[2].id: expected a rule id unique in the policy, "
        "got 'b' again (first at line 6)",
        "tmf.yaml:8: at policies[0].rules[3].with: expected a partner rule in the policy for "
        "with: partner.phone, got none",
        "tmf.yaml:9: at policies[0].rules[4].action: expected an order_ref in the policy for "
        "tokenise, got none",
        "tmf.yaml:10: at policies[0].rules[5].format: expected no 'format' for mask "
        "(it takes keep_last, mask_char)",
        "tmf.yaml:11: at policies[0].rules[6].select: expected a JSONPath ('$') selector like the "
        "policy's first, got the other kind",
        "tmf.yaml:12: at policies[0].rules[7].action: expected restore only in response rules, "
        "got it in rules",
        "tmf.yaml:12: at policies[0].rules[7].action: expected an order_ref in the policy for "
        "restore, got none",
        "tmf.yaml:13: at policies[0].rules[8]: 'action' is a required property",
        "tmf.yaml:15: at policies[1].match.method: expected one of 'GET', 'HEAD', 'POST', 'PUT', "
        "'PATCH', 'DELETE', 'OPTIONS'",
        "tmf.yaml:15: at policies[1].match.path: 'tmf-api' does not match '^/'",
    ]


def test_duplicate_policy_names_in_one_file() -> None:
    """Two sound policies with one name: the second is reported at its own line."""
    text = (
        "policies:\n"
        "  - {name: a, match: {method: GET, path: /a}, rules: []}\n"
        "  - {name: a, match: {method: GET, path: /b}, rules: []}\n"
    )
    assert errors_of(text) == [
        "p.yaml:3: expected a unique policy name, got 'a' again (first at p.yaml:2)"
    ]


def test_policy_level_semantic_mistakes() -> None:
    """A JSON policy cannot name a SOAP action or XML content; a bad partner selector is found."""
    text = (
        "name: p\n"
        "match: {method: POST, path: /x, action: urn:a, content: [json, soap11]}\n"
        'partner: {body: "$.a["}\n'
        'order_ref: "$.b[?(@.c==)]"\n'
        "rules: [{id: a, select: $.a, action: drop}]\n"
    )
    assert errors_of(text) == [
        "p.yaml:2: at match.content: expected body kinds of the selectors' family "
        "(json, merge-patch, json-patch, json-patch-query), got 'soap11'",
        "p.yaml:2: at match.action: expected no SOAP action on a policy with JSONPath selectors, got one",
        "p.yaml:3: at partner.body: at character 5: expected '*', '?', a quoted name or an index, got the end",
        "p.yaml:4: at order_ref: at character 12: expected a string, number, true, false or null, got ')'",
    ]


def test_directory_collects_errors_of_every_file(tmp_path: Path) -> None:
    """Broken YAML, schema errors and duplicate names across files are reported together."""
    (tmp_path / "a.yaml").write_text("name: dup\nmatch: {method: GET, path: /a}\nrules: []\n")
    (tmp_path / "b.yml").write_text("name: dup\nmatch: {method: GET, path: /b}\nrules: []\n")
    (tmp_path / "c.yaml").write_text("name: [unclosed\n")
    (tmp_path / "d.yaml").write_text(
        "name: d\nmatch: {method: GET, path: /d}\nrules: []\negress: warn\n"
    )
    (tmp_path / "notes.txt").write_text("not a policy")
    with pytest.raises(ConfigError) as caught:
        load_policies(tmp_path)
    errors = caught.value.errors
    assert len(errors) == 3
    assert errors[0].startswith(f"{tmp_path / 'c.yaml'}:2: invalid YAML")
    assert errors[1] == f"{tmp_path / 'd.yaml'}:4: at egress: expected one of 'block', 'scrub'"
    assert errors[2] == (
        f"{tmp_path / 'b.yml'}:1: expected a unique policy name, got 'dup' again "
        f"(first at {tmp_path / 'a.yaml'}:1)"
    )


def test_empty_directory_is_an_error(tmp_path: Path) -> None:
    """No policy at all would refuse every request: say so at start instead."""
    with pytest.raises(ConfigError, match=r"expected at least one \*\.yaml policy file, got none"):
        load_policies(tmp_path)


def test_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    """Editors can load schema.json as it is."""
    jsonschema.Draft202012Validator.check_schema(policy_schema())


def test_list_form_admits_no_policy_keys_beside_it() -> None:
    """``policies:`` next to ``name:`` is a mix of both shapes: refused at the stray key's file."""
    text = "name: x\npolicies:\n  - {name: a, match: {method: GET, path: /a}, rules: []}\n"
    assert errors_of(text) == ["p.yaml:1: at (document): unexpected key 'name'"]
