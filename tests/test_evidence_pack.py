"""Evidence packs: built from a trace, verified offline, any one-byte change in any file caught,
no personal value outside the openings, a bilingual printable report with escaped values."""

from __future__ import annotations

import base64
import json
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from proxy.audit import evidence_text as names
from proxy.audit.evidence import EvidenceError, export
from proxy.audit.evidence_select import Selection
from proxy.audit.evidence_verify import verify_bundle
from proxy.audit.note import Signer
from proxy.audit.trust import TrustAnchor
from proxy.evidence_html import Opened, report_html
from proxy.evidence_pack import Pack, build_pack, narrow
from proxy.trace import trace_contact
from proxy.trace_model import Message, OrderTrace, Trace
from tests.actions.support import PARTNER
from tests.storage.logcheck import ORIGIN
from tests.test_trace import alias_entries
from tests.trace_world import CUSTOMER, PLANTED, World, build_world

NOW = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    """The scenario of :mod:`tests.trace_world`."""
    built = await build_world(tmp_path)
    yield built
    await built.close()


def anchor(world: World) -> TrustAnchor:
    """The regulator's trust file, made from the key, not read from the pack."""
    return TrustAnchor(ORIGIN, Signer(ORIGIN, world.keys.signing_key).verifier())


async def pack_for(world: World, decoy: str, out: Path, contact_id: str | None = None) -> Pack:
    """What ``civetta evidence --contact`` does."""
    trace = await trace_contact(world.store, decoy)
    if contact_id is not None:
        trace = narrow(trace, contact_id)
    signer = Signer(ORIGIN, world.keys.signing_key)
    return await build_pack(
        world.store, trace, out, signer=signer, opener=world.log.vault, generated=NOW
    )


def files_of(directory: Path) -> dict[str, bytes]:
    """Every file of a directory by relative path."""
    return {
        p.relative_to(directory).as_posix(): p.read_bytes()
        for p in sorted(directory.rglob("*"))
        if p.is_file()
    }


async def test_the_pack_for_a_suspicious_call_verifies_offline(
    world: World, tmp_path: Path
) -> None:
    """Alias, the two messages that carried the phone decoy with their outcomes, the three
    contacts; openings equal to the bytes forwarded; the report and records in the manifest."""
    a = world.orders["A"]
    phone = a.decoys.phone or ""
    out = tmp_path / "pack"
    pack = await pack_for(world, phone, out)
    alias = alias_entries(world, phone)
    carried = [s for s in a.sent if "phone" in s.kinds]
    contacts = [v[0] for v in a.contacts.values() if v[1] == phone]
    expected = sorted(alias + [s.index for s in carried] + [s.outcome for s in carried] + contacts)
    assert list(pack.exported.entries) == expected
    assert pack.exported.openings == tuple(s.index for s in carried)
    for sent in carried:
        assert (out / f"openings/{sent.index}.body").read_bytes() == sent.body
    report = verify_bundle(out, anchor(world))
    assert report.exit_code == 0, report.summary()
    assert report.leaves_verified == len(expected) and report.counts["openings"] == 2
    manifest = json.loads((out / names.MANIFEST).read_text())
    assert {"report.html", "trace.json", "contacts.json"} <= set(manifest["files"])
    records = json.loads((out / "contacts.json").read_text())["contacts"]
    assert sorted(r["contact_id"] for r in records) == sorted(
        k for k, v in a.contacts.items() if v[1] == phone
    )
    assert (
        json.loads((out / "trace.json").read_text())["orders"][0]["order_key"]
        == base64.b64encode(a.key).decode()
    )


async def test_a_one_byte_change_in_any_file_is_detected(world: World, tmp_path: Path) -> None:
    """Each file in turn, the report, the records and the openings included: the checkpoint
    and the manifest's signature fail as signatures (10), everything else as a leaf (11)."""
    original = tmp_path / "original"
    await pack_for(world, world.orders["A"].decoys.phone or "", original)
    files = sorted(files_of(original))
    assert {"report.html", "trace.json", "contacts.json", "openings/4.body", "keys/1.json"} <= set(
        files
    )
    signed = {names.CHECKPOINT, names.MANIFEST, names.MANIFEST_SIG}
    for n, rel in enumerate(files):
        copy = tmp_path / f"copy-{n}"
        shutil.copytree(original, copy)
        data = bytearray((copy / rel).read_bytes())
        data[len(data) // 2] ^= 0x01
        (copy / rel).write_bytes(bytes(data))
        report = verify_bundle(copy, anchor(world))
        assert report.exit_code == (10 if rel in signed else 11), (rel, report.summary())


async def test_no_personal_value_outside_the_openings(world: World, tmp_path: Path) -> None:
    """Order references, customers' values, callers and the note appear in no file of any
    pack; the openings hold the decoys and the partner's contact, and no customer value."""
    for label, order in world.orders.items():
        out = tmp_path / f"pack-{label}"
        await pack_for(world, order.decoys.phone or "", out)
        for rel, data in files_of(out).items():
            for value in PLANTED:
                if rel.startswith("openings/") and value == order.ref:
                    continue  # the order's own reference is in the order it was sent with
                assert value.encode() not in data, (rel, value)
        bodies = [data for rel, data in files_of(out).items() if rel.endswith(".body")]
        assert bodies and all(
            PARTNER.phone.encode() in b and (order.decoys.phone or "").encode() in b for b in bodies
        )
        assert not any(v.encode() in b for b in bodies for v in CUSTOMER[label])
    spare_pack = tmp_path / "pack-spare"
    await pack_for(world, world.unattributed[1], spare_pack)
    assert not any(v.encode() in d for d in files_of(spare_pack).values() for v in PLANTED)


async def test_the_report_is_bilingual_printable_and_self_contained(
    world: World, tmp_path: Path
) -> None:
    """Italian and English sections with the same timeline, print CSS, nothing to fetch."""
    a = world.orders["A"]
    phone = a.decoys.phone or ""
    out = tmp_path / "pack"
    await pack_for(world, phone, out)
    text = (out / "report.html").read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "@media print" in text
    assert '<section class="language" id="it" lang="it">' in text
    assert '<section class="language" id="en" lang="en">' in text
    italian, english = text.split('id="en"')
    for part in (italian, english):
        assert phone in part and "+39********77" in part
        for entry in (s.index for s in a.sent if "phone" in s.kinds):
            assert f"openings/{entry}.body" in part
        assert "civetta audit verify-bundle" in part
    assert "Cronologia" in italian and "sospetta" in italian and "Timeline" in english
    assert "<script" not in text and "src=" not in text and "http" not in text


def test_report_values_are_escaped() -> None:
    """Text from the log is escaped everywhere: a route cannot inject markup."""
    message = Message(1, "2026-11-01T00:00:00.000000Z", "i", "r", "<script>x</script>", "outbound",
                      "POST /a&b", None, (), (("$.x<y>", "rule\"1", "drop"),), None, None, "pending")  # fmt: skip
    trace = Trace("order", None, 2, b"", (OrderTrace("k<", (), (message,), (), ()),), (), {}, {})
    text = report_html(trace, {1: Opened(None, {})}, "now").decode()
    assert "<script>x" not in text and "&lt;script&gt;x&lt;/script&gt;" in text
    assert "POST /a&amp;b" in text and "$.x&lt;y&gt;" in text and "rule&quot;1" in text


async def test_one_contact_narrows_the_pack(world: World, tmp_path: Path) -> None:
    """``--contact-id``: the order's alias and messages, and that contact only."""
    a = world.orders["A"]
    phone = a.decoys.phone or ""
    contact_id, (index, _, _, _) = next(
        (k, v) for k, v in a.contacts.items() if v[3] == "unknown_caller" and v[1] == phone
    )
    pack = await pack_for(world, phone, tmp_path / "one", contact_id)
    others = {v[0] for v in a.contacts.values()} - {index}
    assert index in pack.exported.entries and not others & set(pack.exported.entries)
    assert [s.index for s in a.sent if "phone" in s.kinds] == list(pack.exported.openings)
    with pytest.raises(EvidenceError, match="expected contact nobody on this decoy"):
        narrow(await trace_contact(world.store, phone), "nobody")


async def test_an_empty_trace_writes_no_pack(world: World, tmp_path: Path) -> None:
    """Nothing found: refused, no directory left behind."""
    empty = Trace("contact", "+390299990009", 1, b"", (), (), {}, {})
    signer = Signer(ORIGIN, world.keys.signing_key)
    with pytest.raises(EvidenceError, match="got none"):
        await build_pack(
            world.store, empty, tmp_path / "p", signer=signer, opener=None, generated=NOW
        )
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize(
    "name", ["leaves", "manifest.json", "VERIFY.md", "../x", "a/b", ".hidden", "trust.txt"]
)
async def test_extra_files_cannot_take_the_bundles_names(
    world: World, tmp_path: Path, name: str
) -> None:
    """The export's extra files are plain top-level names the bundle does not use."""
    signer = Signer(ORIGIN, world.keys.signing_key)
    with pytest.raises(EvidenceError, match="expected an extra file with a free plain name"):
        await export(
            world.store, Selection(indices=(2,)), tmp_path / "b", signer=signer, extra={name: b"x"}
        )


async def test_a_shredded_period_leaves_no_opening_and_says_so(
    world: World, tmp_path: Path
) -> None:
    """October's data key destroyed: its messages have no opening, the manifest lists them as
    shredded, the report says there is no copy, and the pack still verifies."""
    a = world.orders["A"]
    assert await world.log.shred(datetime(2026, 11, 1, tzinfo=UTC).date()) == ["2026-10"]
    out = tmp_path / "pack"
    pack = await pack_for(world, a.decoys.phone or "", out)
    carried = tuple(s.index for s in a.sent if "phone" in s.kinds)
    assert pack.exported.openings == () and pack.exported.shredded == carried
    assert json.loads((out / names.MANIFEST).read_text())["shredded"] == list(carried)
    assert not (out / "openings").exists()
    text = (out / "report.html").read_text(encoding="utf-8")
    assert "no copy (retention period over and destroyed)" in text
    assert "nessuna copia" in text
    assert verify_bundle(out, anchor(world)).exit_code == 0
