"""``civetta policy check | test | coverage`` through :func:`proxy.cli.main`, as ops run them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from proxy.cli import main

REPO = Path(__file__).resolve().parent.parent
FIXTURES = REPO / "tests" / "fixtures"


def write_config(tmp_path: Path, policies: Path) -> Path:
    """config.example.yaml with the policies, partners and schemas given as absolute paths."""
    text = (REPO / "config.example.yaml").read_text()
    for old, new in (
        ("policies_dir: policies", f"policies_dir: {policies}"),
        ("partners_file: policies/partners.yaml", f"partners_file: {policies / 'partners.yaml'}"),
        ("schemas_dir: schemas", f"schemas_dir: {REPO / 'schemas'}"),
    ):
        assert old in text
        text = text.replace(old, new)
    path = tmp_path / "civetta.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def shipped(tmp_path: Path) -> Path:
    """A configuration using the shipped policies."""
    return write_config(tmp_path, REPO / "policies")


@pytest.fixture
def copied(tmp_path: Path) -> Path:
    """A configuration using a copy of the shipped policies (tests edit it)."""
    target = tmp_path / "policies"
    shutil.copytree(REPO / "policies", target)
    return write_config(tmp_path, target)


def test_check_passes_on_the_shipped_policies(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0 and a summary: policies, files, selectors cross-checked, partners."""
    assert main(["policy", "check", "--config", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert ": ok: 12 policies in 6 files, " in out and "selectors cross-checked" in out
    assert "2 partners" in out and "not cross-checked" not in out


def test_check_reports_a_typo_selector_with_its_file_and_line(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One misspelt member is enough to fail: exit 1, ``file:line: message``."""
    policy = copied.parent / "policies" / "tmf622-product-order.yaml"
    text = policy.read_text()
    good = "select: $..contactMedium[*].characteristic.phoneNumber\n"
    line = text[: text.index(good)].count("\n") + 1
    policy.write_text(text.replace(good, good.replace("phoneNumber", "phoneNumbr"), 1))
    assert main(["policy", "check", "--config", str(copied)]) == 1
    captured = capsys.readouterr()
    (error,) = captured.out.splitlines()
    # The rule's line: the '- id: phone' item, one line above its select.
    assert error.startswith(f"{policy}:{line - 1}: rule phone: ")
    assert error.endswith("got 'phoneNumbr'")
    assert "1 problem(s)" in captured.err


def test_check_reports_an_invalid_policy_and_a_broken_partner_directory_together(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Load errors of policies and partners are listed together, each as file:line."""
    policies = copied.parent / "policies"
    (policies / "broken.yaml").write_text("name: broken\nmatch: {method: POST, path: /x}\n")
    partners = policies / "partners.yaml"
    partners.write_text(partners.read_text().replace('"+39 02 3659 8800"', '"12"'))
    assert main(["policy", "check", "--config", str(copied)]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{policies / 'broken.yaml'}:1: ")
    assert lines[1].startswith(f"{partners}:") and "valid phone number" in lines[1]


def test_check_looks_where_serve_looks_and_reports_missing_schemas_once(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``minimisation.schemas_dir`` is the default, ``--schemas`` overrides it; a directory
    that is not there is one problem naming the setting, not one per policy."""
    gone = tmp_path / "gone"
    shipped.write_text(
        shipped.read_text().replace(
            f"  schemas_dir: {REPO / 'schemas'}", f"  schemas_dir: {gone}", 1
        )
    )
    assert main(["policy", "check", "--config", str(shipped)]) == 1
    captured = capsys.readouterr()
    (error,) = captured.out.splitlines()
    assert error.startswith(f"{shipped}: minimisation.schemas_dir: expected a directory")
    assert f"got no directory at {gone} " in error and "1 problem(s)" in captured.err
    argv = ["policy", "check", "--config", str(shipped), "--schemas", str(REPO / "schemas")]
    assert main(argv) == 0
    assert f"selectors cross-checked against {REPO / 'schemas'}, " in capsys.readouterr().out


def test_check_checks_even_when_serve_is_told_not_to(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``minimisation.crosscheck: false`` switches off the proxy's check, not this command's;
    a passing check says that serve will not repeat it."""
    text = copied.read_text()
    copied.write_text(text.replace("  watch: true\n", "  watch: true\n  crosscheck: false\n", 1))
    assert main(["policy", "check", "--config", str(copied)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert (
        out[-1] == "note: minimisation.crosscheck is false: civetta serve does not run this check"
    )
    policy = copied.parent / "policies" / "tmf621-trouble-ticket.yaml"
    policy.write_text(policy.read_text().replace("$..note[*].text", "$..note[*].txt", 1))
    assert main(["policy", "check", "--config", str(copied)]) == 1
    (error,) = capsys.readouterr().out.splitlines()
    assert error.startswith(f"{policy}:") and error.endswith("got 'txt'")


def test_coverage_of_the_shipped_policies_has_no_gaps(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 0; inbound policies (notifications toward the OSS) are named as not checked."""
    assert main(["policy", "coverage", "--config", str(shipped)]) == 0
    out = capsys.readouterr().out
    assert "coverage: 9 outbound policies checked, 0 uncovered" in out
    assert "soap-notify-order-status, tmf-listener-events, tmf-hub-events" in out


def test_coverage_lists_what_a_removed_rule_leaves_uncovered(
    copied: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Exit 1 with each uncovered field, its policy and why it looks personal."""
    policy = copied.parent / "policies" / "soap-wholesale.yaml"
    text = policy.read_text()
    rule = '      - {id: numero-linea, select: "//{http://wholesale.example.it/ordering/v1}numeroLinea", action: keep}\n'
    drop = "      - id: referente-email\n"
    assert rule in text and text.count(drop) == 2
    # The trouble ticket's e-mail rule goes: its referente/email is uncovered.
    head, tail = text.split("name: soap-trouble-ticket", 1)
    start = tail.index(drop)
    end = tail.index("      - {id: numero-linea")
    policy.write_text(head + "name: soap-trouble-ticket" + tail[:start] + tail[end:])
    assert main(["policy", "coverage", "--config", str(copied)]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{policy}:")
    assert out[0].endswith(
        "soap-trouble-ticket: //SubmitTroubleTicket/referenti/referente/email: name 'email', no rule"
    )
    assert out[-1].startswith("coverage: 9 outbound policies checked, 1 uncovered")


def test_test_prints_the_minimised_message_and_the_decisions(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The route picks the policy; the output shows partner contact, tokens, decisions, no leak."""
    fixture = FIXTURES / "tmf" / "tmf622_v4_order.json"
    argv = ["policy", "test", "--config", str(shipped), "--route", "tmf622-v4", str(fixture)]
    assert main([*argv, "--partner", "installer-roma-01"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("policy tmf622-v4-product-order (")
    message, table = out.split("--- decisions: ", 1)
    assert "ordini@impiantiromasud.example.it" in message and "tok_" in message
    for value in ("Mario Rossi", "347 123 4567", "mario.rossi80@example.com", "RSSMRA80A01H501U"):
        assert value not in out
    assert "FWB0645678901001A01Y" in message  # the codice migrazione is kept
    rows = table.splitlines()
    assert rows[1].split() == ["path", "rule", "action"]
    assert "$.relatedParty[0].name  " in table and " party-name " in table and "tokenise" in table
    assert rows[-1] == "--- egress guard: nothing found ---"


def test_test_on_soap_guesses_the_action_from_the_payload(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A trouble ticket on the SOAP route gets the trouble-ticket policy, SOAP 1.2 included."""
    fixture = FIXTURES / "soap" / "trouble_ticket_11.xml"
    argv = ["policy", "test", "--config", str(shipped), "--route", "wholesale-soap", str(fixture)]
    assert main([*argv, "--partner", "reseller-milano-02"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("policy soap-trouble-ticket (") and ", body soap11" in out
    assert "<ns0:telefono>+390236598800</ns0:telefono>" in out
    assert "/Envelope/Body/SubmitTroubleTicket/numeroLinea" in out and "keep" in out


def test_test_exits_1_and_names_paths_when_the_guard_would_block(
    shipped: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A message the policy does not clean: findings by path and kind, never the value."""
    fixture = FIXTURES / "tmf" / "tmf641_v4_order.json"
    argv = ["policy", "test", "--config", str(shipped), "--policy", "tmf-hub-registration"]
    assert main([*argv, str(fixture)]) == 1
    out = capsys.readouterr().out
    findings = out.split("--- egress guard: ", 1)[1].splitlines()
    assert findings[0].endswith("finding(s), would block ---")
    assert "$.notificationContact  phone" in findings
    guard_part = "\n".join(findings)
    assert "328" not in guard_part and "Ferrari" not in guard_part


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--route", "tmf622-v4"], "expected --partner ID (this policy reads the partner from X-Partner-Id)"),
        (["--route", "tmf622-v4", "--partner", "nobody"], "expected a partner id of "),
        (["--route", "nowhere", "--partner", "installer-roma-01"], "expected a route of the configuration ("),
        (["--policy", "nothing"], "expected a policy named 'nothing', got none by that name"),
        (["--route", "tmf621-v4", "--path", "/elsewhere"], "expected a path under /tmf-api/troubleTicket/v4/"),
    ],
)  # fmt: skip
def test_test_usage_errors_exit_2(
    shipped: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    """Nothing is minimised when the command cannot know how the proxy would handle the file."""
    fixture = FIXTURES / "tmf" / "tmf622_v4_order.json"
    assert main(["policy", "test", "--config", str(shipped), *extra, str(fixture)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Mario" not in err


def test_test_exits_1_when_the_policy_cannot_apply(
    shipped: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A name to tokenise in an order without its reference: the proxy would refuse it (422)."""
    order = tmp_path / "order.json"
    order.write_text(
        '{"productOrderItem": [{"id": "1", "action": "add"}], "relatedParty": '
        '[{"id": "C-1", "name": "Mario Rossi", "role": "customer", "@referredType": "Individual"}]}'
    )
    argv = ["policy", "test", "--config", str(shipped), "--route", "tmf622-v4", str(order)]
    assert main([*argv, "--partner", "installer-roma-01"]) == 1
    out = capsys.readouterr().out
    (last,) = out.splitlines()[-1:]
    assert last.startswith("policy tmf622-v4-product-order cannot be applied: rule party-name (")
    assert last.endswith(
        "at $.relatedParty[0].name: expected an order reference for tokenise, got none"
    )
    assert "Mario" not in out
