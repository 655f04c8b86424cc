"""The JSONPath subset's syntax: text -> steps (see :mod:`proxy.policy.jsonpath` for meaning).

Errors are :class:`~proxy.policy.selectorerror.SelectorError` with a 1-based character position,
what was expected and what was found, e.g. ``at character 9: expected ']', got the end``.
"""

from __future__ import annotations

from proxy.policy.jsonfilter import NAME, STRING, FilterParser, unquote
from proxy.policy.jsonpath import Descend, Filter, Index, JsonPath, Key, Step, Wild
from proxy.policy.selectorerror import SelectorError


def compile_jsonpath(text: str) -> JsonPath:
    """Compile ``text`` or raise :class:`SelectorError` naming the position."""
    if not text.startswith("$"):
        raise SelectorError("at character 1: expected '$', got " + (repr(text[:1]) or "nothing"))
    steps: list[Step] = []
    pos = 1
    while pos < len(text):
        if text.startswith("..", pos):
            pos += 2
            if pos == len(text):
                break  # trailing '..': the node as a whole subtree
            if text.startswith("[", pos):
                step, pos = _bracket(text, pos)
            else:
                step, pos = _dotted(text, pos)
            if isinstance(step, Descend):
                raise SelectorError(f"at character {pos}: expected a step after '..', got '..'")
            steps.append(Descend(step))
        elif text.startswith(".", pos):
            step, pos = _dotted(text, pos + 1)
            steps.append(step)
        elif text.startswith("[", pos):
            step, pos = _bracket(text, pos)
            steps.append(step)
        else:
            raise SelectorError(
                f"at character {pos + 1}: expected '.', '..' or '[', got {text[pos]!r}"
            )
    return JsonPath(text, tuple(steps))


def _dotted(text: str, pos: int) -> tuple[Step, int]:
    if text.startswith("*", pos):
        return Wild(), pos + 1
    name = NAME.match(text, pos)
    if name is None:
        found = repr(text[pos]) if pos < len(text) else "the end"
        raise SelectorError(f"at character {pos + 1}: expected a member name or '*', got {found}")
    return Key(name.group()), name.end()


def _bracket(text: str, pos: int) -> tuple[Step, int]:
    start = pos
    pos += 1
    step: Step
    if text.startswith("*", pos):
        step, pos = Wild(), pos + 1
    elif text.startswith("?", pos):
        paren = text.startswith("(", pos + 1)
        parser = FilterParser(text, pos + (2 if paren else 1))
        predicate = parser.parse()
        if paren and not parser.eat(")"):
            raise parser.fail("')'")
        step, pos = Filter(predicate, text[start : parser.pos + 1]), parser.pos
    elif (quoted := STRING.match(text, pos)) is not None:
        step, pos = Key(unquote(quoted)), quoted.end()
    else:
        number = pos + (1 if text.startswith("-", pos) else 0)
        end = number
        while end < len(text) and text[end].isdigit():
            end += 1
        if end == number:
            found = repr(text[pos]) if pos < len(text) else "the end"
            raise SelectorError(
                f"at character {pos + 1}: expected '*', '?', a quoted name or an index, got {found}"
            )
        step, pos = Index(int(text[pos:end])), end
    if not text.startswith("]", pos):
        found = repr(text[pos]) if pos < len(text) else "the end"
        raise SelectorError(f"at character {pos + 1}: expected ']', got {found}")
    return step, pos + 1
