"""Hypothesis strategies shared by the detector tests: harmless text and planted contacts."""

from __future__ import annotations

from hypothesis import strategies as st

# Surrounding text: words and technical tokens a note is made of, none of them personal.
# Small numbers come with their word ("piano 3"): loose digits next to each other ("3 3
# 1000/300") can spell a valid number, the price of finding "3 4 7 1 2 3 4 5 6 7".
WORDS = [
    "guasto",
    "LED",
    "LOS",
    "rosso",
    "cliente",
    "citofono",
    "portineria",
    "richiamare",
    "attenuazione",
    "-27,5 dBm",
    "profilo 1000/300",
    "1000/300 Mbps",
    "Mbps",
    "12/03/2026",
    "14:30",
    "08:00-13:00",
    "ORD-2026-000123",
    "TIM0612345678001A",
    "CAP 00185",
    "piano 3",
    "scala C",
    "Nicolò",
    "perché",
    "è",
    "ok.",
    "(urgente)",
    "192.168.1.10",
    "€ 29,90",
    "FTTH_GPON",
    "sollecito n. 2",
]
SEPARATORS = [" ", ".", "-", "/", ""]
PREFIXES = ["", "+39 ", "+39", "0039 ", "0039-", "+39-"]


@st.composite
def surroundings(draw: st.DrawFn) -> str:
    """A few words of harmless text (possibly none)."""
    return " ".join(draw(st.lists(st.sampled_from(WORDS), max_size=6)))


@st.composite
def national_numbers(draw: st.DrawFn) -> tuple[str, str]:
    """An Italian mobile or landline as (prefix group, rest), valid by the metadata."""
    mobile = draw(st.booleans())
    if mobile:
        head = "3" + draw(st.sampled_from("2456789")) + draw(st.sampled_from("0123456789"))
        rest = draw(st.text("0123456789", min_size=7, max_size=7))
    else:
        head = draw(st.sampled_from(["02", "06", "011", "081", "0471"]))
        rest = draw(st.text("0123456789", min_size=10 - len(head), max_size=10 - len(head)))
        if head == "06" and rest[0] == "6":
            rest = "5" + rest[1:]  # 066 needs a further digit check; stay in plain 06
    return head, rest


@st.composite
def phone_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """A valid number in a random human spelling, and its E.164 key."""
    head, rest = draw(national_numbers())
    separator = draw(st.sampled_from(SEPARATORS))
    cut = draw(st.integers(min_value=0, max_value=len(rest) - 3))
    groups = [head, rest[:cut], rest[cut:]] if cut >= 2 else [head, rest]
    spelled = draw(st.sampled_from(PREFIXES)) + separator.join(groups)
    if draw(st.booleans()):
        spelled = spelled.translate(str.maketrans("0123456789+", "０１２３４５６７８９＋"))
    if draw(st.booleans()):
        spelled = spelled[:2] + "\u200b" + spelled[2:]
    return spelled, f"+39{head}{rest}"


@st.composite
def email_spellings(draw: st.DrawFn) -> tuple[str, str]:
    """An address in random case, possibly with a sub-address or a disguise, and its key."""
    local = draw(st.from_regex(r"[a-z]{1,8}(\.[a-z0-9]{1,6})?", fullmatch=True))
    tag = draw(st.sampled_from(["", "+ord1", "+x"]))
    domain = draw(st.from_regex(r"[a-z]{2,10}", fullmatch=True))
    tld = draw(st.sampled_from(["it", "com", "org", "eu"]))
    key = f"{local}{tag}@{domain}.{tld}"
    at, dot = draw(
        st.sampled_from([("@", "."), (" [at] ", " [dot] "), ("(at)", "."), (" at ", " dot ")])
    )
    spelled = f"{local}{tag}{at}{domain}{dot}{tld}"
    return draw(st.sampled_from([spelled, spelled.upper(), spelled.title()])), key
