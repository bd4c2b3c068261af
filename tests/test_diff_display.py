"""``tests.diff_display`` reproduces the engine's text: the expected strings are the engine's own
(pulumi ``pkg/backend/display/object_diff_test.go``: ``Test_PrintObject`` and the
``TestGetResourceOutputsPropertiesString`` cases that go through ``printObjectPropertyDiff``),
with the colour markup ``<{%…%}>`` removed."""

from __future__ import annotations

import re

from tests.diff_display import Secret, _Printer, diff_objects, render

_MARKUP = re.compile(r"<\{%[^%]*%\}>")


def plain(engine_text: str) -> str:
    return _MARKUP.sub("", engine_text)


def print_object(props: dict, indent: int = 0) -> str:
    out: list[str] = []
    _Printer(out, indent, "same", False).object(props)
    return "".join(out)


def print_diff(old: dict, new: dict, indent: int = 1) -> str:
    out: list[str] = []
    diff = diff_objects(old, new)
    assert diff is not None
    _Printer(out, indent, "update", True).object_diff(diff)
    return "".join(out)


def test_print_object_numbers() -> None:
    expected = plain(
        "<{%reset%}>float      : <{%reset%}><{%reset%}>2.3<{%reset%}><{%reset%}>\n<{%reset%}>"
        "<{%reset%}>int        : <{%reset%}><{%reset%}>1<{%reset%}><{%reset%}>\n<{%reset%}>"
        "<{%reset%}>large_float: <{%reset%}><{%reset%}>1.2345671234567e+06<{%reset%}><{%reset%}>\n"
        "<{%reset%}><{%reset%}>large_int  : <{%reset%}><{%reset%}>1234567<{%reset%}><{%reset%}>\n"
        "<{%reset%}>")
    assert print_object({"int": 1, "float": 2.3, "large_int": 1234567,
                         "large_float": 1234567.1234567}) == expected


def test_print_object_secrets() -> None:
    expected = plain(
        "<{%reset%}>nested_secret: <{%reset%}><{%reset%}>{\n<{%reset%}><{%reset%}>    super_secret: "
        "<{%reset%}><{%reset%}>[secret]<{%reset%}><{%reset%}>\n<{%reset%}><{%reset%}>}<{%reset%}>"
        "<{%reset%}>\n<{%reset%}><{%reset%}>secret       : <{%reset%}><{%reset%}>[secret]<{%reset%}>"
        "<{%reset%}>\n<{%reset%}>")
    assert print_object({"secret": Secret("secrets"),
                         "nested_secret": {"super_secret": Secret("super_secret")}}) == expected


def test_property_added_removed_changed() -> None:
    assert print_diff({}, {"someProp": "added"}) == plain(
        '<{%fg 2%}>  + someProp: <{%reset%}><{%fg 2%}>"added"<{%reset%}><{%fg 2%}>\n<{%reset%}>')
    assert print_diff({"someProp": "removed"}, {}) == plain(
        '<{%fg 1%}>  - someProp: <{%reset%}><{%fg 1%}>"removed"<{%reset%}><{%fg 1%}>\n<{%reset%}>')
    assert print_diff({"someProp": "initial"}, {"someProp": "changed"}) == plain(
        '<{%fg 3%}>  ~ someProp: <{%reset%}><{%fg 3%}>"<{%reset%}><{%fg 1%}>initial<{%reset%}>'
        '<{%fg 3%}>"<{%reset%}><{%fg 3%}> => <{%reset%}><{%fg 3%}>"<{%reset%}><{%fg 2%}>changed'
        '<{%reset%}><{%fg 3%}>"\n<{%reset%}>')


def test_added_secrets_and_nested_object() -> None:
    assert print_diff({}, {"secret": Secret("shhhh"), "secretObj": Secret({"a": "1"})}) == plain(
        "<{%fg 2%}>  + secret   : <{%reset%}><{%fg 2%}>[secret]<{%reset%}><{%fg 2%}>\n<{%reset%}>"
        "<{%fg 2%}>  + secretObj: <{%reset%}><{%fg 2%}>[secret]<{%reset%}><{%fg 2%}>\n<{%reset%}>")
    # showSecrets=true prints the element: a nested object added under a "+" key.
    assert print_diff({}, {"secret": "shhhh", "secretObj": {"a": "1"}}) == plain(
        '<{%fg 2%}>  + secret   : <{%reset%}><{%fg 2%}>"shhhh"<{%reset%}><{%fg 2%}>\n<{%reset%}>'
        "<{%fg 2%}>  + secretObj: <{%reset%}><{%fg 2%}>{\n<{%reset%}>"
        '<{%fg 2%}>      + a: <{%reset%}><{%fg 2%}>"1"<{%reset%}><{%fg 2%}>\n<{%reset%}>'
        "<{%fg 2%}>    }<{%reset%}><{%fg 2%}>\n<{%reset%}>")


def test_array_element_removed_reads_as_removed() -> None:
    """The shape the old provider produced after ``up``: the applied file on the old side."""
    text = print_diff({"pending": ["1_users.sql"]}, {"pending": []}, indent=2)
    assert text == ('      ~ pending: [\n'
                    '          - [0]: "1_users.sql"\n'
                    '        ]\n')


def test_same_step_prints_nothing_and_hidden_keys_never_print() -> None:
    assert render("same", "t:m:T", "urn:x", "id1", {"a": 1}, {"a": 2}) == ""
    text = render("update", "t:m:T", "urn:x", "id1", {"a": 1, "__pending": ["x"]},
                  {"a": 1, "__pending": [], "__provider": "p"})
    # No diff outside hidden keys: the new inputs print as sames, padded to the longest key
    # (``__provider`` counts for the padding but is never printed).
    assert text.splitlines()[3:] == ["        a         : 1"]
