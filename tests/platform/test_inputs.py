"""The unstorable-text guard: it finds every NUL and lone surrogate in a JSON document, and nothing else."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from shared import inputs

# The whole of Unicode, surrogates included (JSON escapes them as \ud800), with the characters that matter often.
chars = st.characters(exclude_categories=()) | st.sampled_from(
    ["\x00", "\ud800", "\udbff", "\udc00", "\udfff", "\\", "u"]
)
any_text = st.text(chars, max_size=8)
documents = st.recursive(
    st.none() | st.booleans() | st.integers() | any_text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(any_text, inner, max_size=4),
    max_leaves=12,
)


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [k, *_strings(v)]]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _storable(value: Any) -> bool:
    """What PostgreSQL can hold: every key and string encodes as UTF-8 and has no NUL."""
    for s in _strings(value):
        if "\x00" in s:
            return False
        try:
            s.encode("utf-8")
        except UnicodeEncodeError:
            return False
    return True


@given(documents)
def test_the_guard_finds_a_field_exactly_when_the_document_cannot_be_stored(document: Any) -> None:
    body = json.dumps(document).encode()  # ASCII, escapes and all: what a client sends
    fields = inputs.RefuseUnstorableText._body_fields(body)
    received = json.loads(body)  # what the server reads: two escaped halves of a pair are one character
    assert bool(fields) == (not _storable(received)), (document, fields)


def test_fields_are_named_by_their_path() -> None:
    document = {"members": [{"id_number": "1"}, {"relation": "he\x00ad"}], "note\ud800": "x", "name": "ok"}
    assert list(inputs.bad_json_fields(document)) == ["members.1.relation", "note\\ud800"]


@given(st.text(st.characters(codec="utf-8"), max_size=10), st.text(st.characters(codec="utf-8"), max_size=10))
def test_query_parameters_with_nul_are_named(name: str, value: str) -> None:
    from urllib.parse import urlencode

    scope = {"query_string": urlencode({f"k{name}": value}).encode()}
    expected = [inputs.printable(f"k{name}")] if "\x00" in name + value else []
    assert inputs.RefuseUnstorableText._query_fields(scope) == expected
