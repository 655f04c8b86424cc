"""Tests for proxy.detect.normalise: decoding, canonical characters and the offset map."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proxy.detect.normalise import canonical_char, fold, fold_text, identity, prepare


def _source_of(text: str, needle: str) -> str:
    # The original characters that the canonical ``needle`` came from.
    mapped = prepare(text)
    start = mapped.text.index(needle)
    first, last = mapped.span(start, start + len(needle))
    return text[first:last]


def test_ascii_text_is_its_own_canonical_form() -> None:
    """Plain ASCII passes through with no map at all (the cheap common case)."""
    mapped = prepare("Guasto LED LOS, tel 347 1234567")
    assert mapped.text == "Guasto LED LOS, tel 347 1234567"
    assert mapped.starts is None
    assert mapped.span(4, 9) == (4, 9)


def test_fullwidth_digits_and_signs_become_ascii() -> None:
    """NFKC turns fullwidth digits, plus and at signs into their ASCII forms."""
    assert prepare("＋３９ ３４７").text == "+39 347"
    assert prepare("mario＠example.it").text == "mario@example.it"


def test_digits_of_other_scripts_become_ascii() -> None:
    """Arabic-Indic and Devanagari digits read as 0-9 (NFKC alone would keep them)."""
    assert prepare("\u0663\u0664\u0667 \u0967\u0968\u0969").text == "347 123"


def test_invisible_characters_are_removed() -> None:
    """Zero-width space, word joiner, soft hyphen, BOM and bidi marks vanish."""
    assert prepare("3\u200b4\u20607\u00ad1\ufeff2\u200e3").text == "347123"


def test_dash_dot_slash_and_space_variants_are_unified() -> None:
    """En dash, minus, middle dot, fraction slash, NBSP and thin space become - . / and space."""
    assert (
        prepare("347\u2013123\u221245\u00b767\u20441\u00a02\u20093").text == "347-123-45.67/1 2 3"
    )


def test_each_canonical_character_maps_back_to_its_source() -> None:
    """A span of the canonical text maps to exactly the original characters it came from."""
    text = "tel ３４７\u200b１２３４５６７ fine"
    assert _source_of(text, "3471234567") == "３４７\u200b１２３４５６７"


def test_character_references_are_decoded_and_mapped_whole() -> None:
    """Decimal and hex references and named entities decode; a digit maps to its reference."""
    text = "x &#51;&#x34;&#55; &amp; &lt;ok&gt;"
    assert prepare(text).text == "x 347 & <ok>"
    assert _source_of(text, "347") == "&#51;&#x34;&#55;"


def test_double_encoding_is_undone() -> None:
    """``&amp;#51;`` is what a reference looks like after a second escaping: it is a 3."""
    assert prepare("&amp;#51;&amp;#52;").text == "34"


def test_json_escapes_are_decoded_including_surrogate_pairs() -> None:
    """``\\u0033`` is 3, a surrogate pair is one character, simple escapes are undone."""
    assert prepare("\\u0033\\u0034 \\ud83d\\ude00 a\\/b").text == "34 \U0001f600 a/b"


def test_cdata_markers_join_split_sections() -> None:
    """A value split across CDATA sections reads as one value."""
    assert prepare("<![CDATA[347 123]]><![CDATA[4567]]>").text == "347 1234567"


def test_references_to_non_characters_are_left_as_written() -> None:
    """A reference to a surrogate or beyond U+10FFFF is not decoded (it is no character)."""
    assert prepare("&#xD800; &#1114112;").text == "&#xD800; &#1114112;"


def test_percent_encoding_is_decoded_only_for_query_strings() -> None:
    """``%33`` and ``+`` decode in query mode only: "sconto 20%30" in a note is left alone."""
    assert prepare("347%20123%2B4567+x", query=True).text == "347 123+4567 x"
    assert prepare("347%20123").text == "347%20123"


def test_multibyte_percent_sequences_decode_as_utf8() -> None:
    """A run of percent escapes is one UTF-8 sequence (a zero-width space here)."""
    assert prepare("347%E2%80%8B1234567", query=True).text == "3471234567"


def test_fold_ignores_case_and_accents() -> None:
    """Folding lowers case and drops accents, keeping the map to the source."""
    folded = fold(prepare("NICOLÒ Sciascià"))
    assert folded.text == "nicolo sciascia"
    assert folded.span(0, 6) == (0, 6)
    assert fold_text("Ärztin") == "arztin"


def test_canonical_char_drops_format_characters() -> None:
    """Every character of category Cf is invisible and is dropped."""
    assert canonical_char("\u2066") == ""
    assert canonical_char("\u00e9") == "\u00e9"


@given(st.text(max_size=60))
def test_map_is_monotonic_and_within_the_source(text: str) -> None:
    """For any text, every canonical character maps into the source, in order."""
    mapped = prepare(text)
    previous = 0
    for index in range(len(mapped.text)):
        first, last = mapped.span(index, index + 1)
        assert previous <= first < last <= len(text)
        previous = first


@given(st.text(alphabet=st.characters(max_codepoint=0x7E), max_size=60))
def test_identity_span_is_the_span(text: str) -> None:
    """The identity map returns spans unchanged."""
    assert identity(text).span(0, len(text)) == (0, len(text))
