"""Tests for proxy.detect.known: compiling removed and allowed values, and finding them again."""

from __future__ import annotations

import base64

from proxy.detect.finder import find, find_many
from proxy.detect.known import ValueSet, find_phones, find_words
from proxy.detect.normalise import fold, prepare


def _phones(text: str, *values: str) -> list[str]:
    mapped = prepare(text)
    return [text[m.start : m.end] for m in find_phones(mapped, ValueSet.compile(values))]


def _words(text: str, *values: str) -> list[str]:
    pattern = ValueSet.compile(values).words
    assert pattern is not None
    return [m.group() for m in pattern.finditer(text.lower())]


def test_phone_values_compile_to_needles_and_an_e164_key() -> None:
    """A phone value is searched by NSN and raw digits and compared by its E.164 key."""
    values = ValueSet.compile(["+39 347 123 4567"])
    assert values.needles == {"3471234567": "+393471234567", "393471234567": "+393471234567"}
    assert "+393471234567" in values.keys
    assert values.shortest == 10


def test_email_values_compare_casefolded_and_cover_sub_addresses() -> None:
    """A removed mailbox also holds its sub-addresses."""
    values = ValueSet.compile(["Mario@Example.IT"])
    assert values.holds_email("mario@example.it")
    assert values.holds_email("mario+promo@example.it")
    assert not values.holds_email("maria@example.it")


def test_removed_phone_is_found_in_other_spellings() -> None:
    """The digits are compared on whole groups, with or without +39 and in any grouping."""
    assert _phones("tel 34 7123 4567 ore 9", "3471234567") == ["34 7123 4567"]
    assert _phones("tel +39 347/1234567", "3471234567") == ["+39 347/1234567"]
    assert _phones("tel ３４７1234567", "+393471234567") == ["３４７1234567"]
    assert _phones("020 7946 0958", "+44 20 7946 0958") == ["020 7946 0958"]


def test_removed_phone_is_not_found_inside_a_codice_migrazione() -> None:
    """The codice migrazione embeds the line's number and must survive intact."""
    assert _phones("codice TLC0287654321002K", "0287654321") == []


def test_removed_phone_is_not_found_inside_a_longer_number() -> None:
    """The needle must start and end on group boundaries."""
    assert _phones("NetMap 103471234567", "3471234567") == []


def test_names_are_found_whole_and_word_by_word() -> None:
    """A person's name is found as a phrase and by each distinctive word, any case and accent."""
    assert _words("sig. ROSSI Mario", "Mario Rossi") == ["rossi", "mario"]
    assert _words("chiedere di nicolo sciascia", "Nicolò Sciascià") == ["nicolo sciascia"]


def test_particles_and_short_words_of_names_are_not_searched_alone() -> None:
    """ "Di", "De", "San" and two-letter words would match everywhere."""
    assert _words("via di san giovanni", "Maria De Santis Di San") == []


def test_company_names_are_found_only_whole() -> None:
    """ "Rossi Impianti srl" must not flag every "impianti" in the note."""
    assert _words("impianti rossi impianti srl", "Rossi Impianti srl") == ["rossi impianti srl"]


def test_short_numbers_and_times_are_not_searched() -> None:
    """A removed civico ("12") or time window ("08:00-13:00") would match all over an order."""
    assert ValueSet.compile(["12", "  ", "08:00-13:00", "18.30"]).words is None


def test_without_drops_what_is_allowed() -> None:
    """A removed value that is also allowed is never a finding."""
    removed = ValueSet.compile(["0287654321", "3389876543"])
    remaining = removed.without(ValueSet.compile(["+39 02 8765 4321"]))
    assert set(remaining.needles.values()) == {"+393389876543"}


def test_a_name_inside_a_longer_word_does_not_hide_the_next_one() -> None:
    """ "Gianluca Moretti": "luca moretti" inside "Gianluca" is rejected, "moretti" is found."""
    values = ValueSet.compile(["Luca Moretti"])
    folded = fold(prepare("chiedere di Gianluca Moretti"))
    assert [m.key for m in find_words(folded, values)] == ["moretti"]


def test_a_name_glued_to_a_number_is_still_found_but_not_inside_a_word() -> None:
    """A digit next to a name's letter is a boundary ("…29,90Mario", "Rossi2"); a letter or an
    underscore is not ("Rossiana", "mario_rossi")."""
    values = ValueSet.compile(["Mario Rossi"])

    def keys(text: str) -> list[str]:
        return [m.key for m in find_words(fold(prepare(text)), values)]

    assert keys("importo 29,90Mario Rossi") == ["mario rossi"]
    assert keys("utente Rossi2") == ["rossi"]
    assert keys("via Rossiana, mario_rossi") == []


def test_a_lone_cdata_opener_reads_the_same_alone_and_among_other_texts() -> None:
    """Decoding runs on any text holding an encoding mark, so one text reads the same on its
    own and joined with others (the guard's one pass) whatever the others hold."""
    values = ValueSet.compile(["Mario Rossi"])
    alone = find(" 29,90<![CDATA[Mario Rossi", values)
    among = find_many([" 29,90<![CDATA[Mario Rossi", "a &amp; b"], values)[0]
    assert [m.key for m in alone] == [m.key for m in among] == ["mario rossi"]


def test_allowed_only_sets_skip_the_search_terms_and_nothing_else() -> None:
    """``search=False`` leaves out the words to search for; keys and literals are the same."""
    values = ["Mario Rossi", "+39 347 123 4567", "mario@example.it", "B", "Via Appia Nuova 12"]
    full, allowed = ValueSet.compile(values), ValueSet.compile(values, search=False)
    assert full.terms and allowed.terms == ()
    assert (allowed.needles, allowed.keys, allowed.mailboxes, allowed.literals) == (
        full.needles,
        full.keys,
        full.mailboxes,
        full.literals,
    )


def test_a_dropped_attachment_is_looked_for_whole() -> None:
    """A base64 attachment the policy removed is one literal term, found again as it is."""
    blob = base64.b64encode(b"%PDF-1.4 " * 40).decode()
    wrapped = "\r\n".join(blob[i : i + 76] for i in range(0, len(blob), 76))
    for value in (blob, wrapped):
        removed = ValueSet.compile([value])
        assert removed.needles == {} and len(removed.terms) == 1
        assert find_words(fold(prepare(f"allegato: {value}")), removed)
