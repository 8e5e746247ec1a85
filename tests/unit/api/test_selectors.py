"""Label and field selectors, against apimachinery's ``pkg/labels`` and ``pkg/fields`` tests."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from steersman.api.selectors import (
    FieldSelector,
    FieldTerm,
    LabelSelector,
    Operator,
    Requirement,
    SelectorError,
    escape_field_value,
    field_value,
    format_label_selector_spec,
    new_requirement,
    parse_field_selector,
    parse_label_selector,
    selector_from_label_selector_spec,
    single_name,
)

VALUE_MSG = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or "
    "'.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    "'my_value',  or '12345', regex used for validation is "
    "'(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')"
)
NAME_PART_MSG = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end "
    "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used "
    "for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')"
)


def req(key: str, operator: Operator, *values: str) -> Requirement:
    return new_requirement(key, operator, list(values))


# -- label selector parsing: TestSelectorParse, TestSetSelectorParser -------------------------


@pytest.mark.parametrize(
    "text", ["x=a,y=b,z=c", "", "x!=a,y=b", "x=", "x= ", "x=,z= ", "x= ,z= ", "!x", "x>1",
             "x>1,z<5"],
)
def test_good_strings_restring_without_spaces(text: str) -> None:
    assert str(parse_label_selector(text)) == text.replace(" ", "")


@pytest.mark.parametrize(
    "text",
    ["x=a||y=b", "x==a==b", "!x=a", "x<a", "x,,y", ",x,y", "x nott in (y)", "a in (xyz),",
     "a in (xyz)b notin ()", "a in (xyz abc)", "a notin(", "a (", "(", "x in a", "k>-1",
     "k>99999999999999999999", "a b", "x=a b", "=a", "x in (=)"],
)
def test_bad_strings(text: str) -> None:
    with pytest.raises(SelectorError):
        parse_label_selector(text)


def test_parse_is_deterministic() -> None:
    assert str(parse_label_selector("x=a,a=x")) == str(parse_label_selector("a=x,x=a")) == "a=x,x=a"


SET_PARSER_TABLE: list[tuple[str, list[Requirement]]] = [
    ("", []),
    ("\rx", [req("x", Operator.EXISTS)]),
    ("this-is-a-dns.domain.com/key-with-dash",
     [req("this-is-a-dns.domain.com/key-with-dash", Operator.EXISTS)]),
    ("this-is-another-dns.domain.com/key-with-dash in (so,what)",
     [req("this-is-another-dns.domain.com/key-with-dash", Operator.IN, "so", "what")]),
    ("0.1.2.domain/99 notin (10.10.100.1, tick.tack.clock)",
     [req("0.1.2.domain/99", Operator.NOT_IN, "10.10.100.1", "tick.tack.clock")]),
    ("foo  in\t (abc)", [req("foo", Operator.IN, "abc")]),
    ("x notin\n (abc)", [req("x", Operator.NOT_IN, "abc")]),
    ("x  notin\t\t\t(abc,def)", [req("x", Operator.NOT_IN, "abc", "def")]),
    ("x in (abc,def)", [req("x", Operator.IN, "abc", "def")]),
    ("x in (abc,)", [req("x", Operator.IN, "abc", "")]),
    ("x in (abc,abc)", [req("x", Operator.IN, "abc")]),
    ("x in ()", [req("x", Operator.IN, "")]),
    ("x in (a,,)", [req("x", Operator.IN, "a", "")]),
    ("x in (a,,,)", [req("x", Operator.IN, "a", "")]),
    ("x in (a,,,,,,)", [req("x", Operator.IN, "a", "")]),
    ("x in (a,,a,,a,,a,,)", [req("x", Operator.IN, "a", "")]),
    ("x notin (abc,,def),bar,z in (),w",
     [req("bar", Operator.EXISTS), req("w", Operator.EXISTS),
      req("x", Operator.NOT_IN, "abc", "", "def"), req("z", Operator.IN, "")]),
    ("x=a", [req("x", Operator.EQUALS, "a")]),
    ("x>1", [req("x", Operator.GREATER_THAN, "1")]),
    ("x<7", [req("x", Operator.LESS_THAN, "7")]),
    ("x=a,y!=b", [req("x", Operator.EQUALS, "a"), req("y", Operator.NOT_EQUALS, "b")]),
    ("x=a,y!=b,z in (h,i,j)",
     [req("x", Operator.EQUALS, "a"), req("y", Operator.NOT_EQUALS, "b"),
      req("z", Operator.IN, "h", "i", "j")]),
    ("x notin ( )", [req("x", Operator.NOT_IN, "")]),
    ("x notin (, a)", [req("x", Operator.NOT_IN, "", "a")]),
    ("a ", [req("a", Operator.EXISTS)]),
    ("a in (x,y,notin, z,in)", [req("a", Operator.IN, "in", "notin", "x", "y", "z")]),
    ("x==a", [req("x", Operator.DOUBLE_EQUALS, "a")]),
    ("in in (in),notin notin (notin),notin2=in",
     [req("in", Operator.IN, "in"), req("notin", Operator.NOT_IN, "notin"),
      req("notin2", Operator.EQUALS, "in")]),
    ("example.com/k", [req("example.com/k", Operator.EXISTS)]),
]


@pytest.mark.parametrize(("text", "expected"), SET_PARSER_TABLE)
def test_set_selector_parser(text: str, expected: list[Requirement]) -> None:
    assert parse_label_selector(text) == LabelSelector(tuple(expected))


def test_requirements_sort_stably_by_key() -> None:
    selector = parse_label_selector("z!=a,z,y")
    assert str(selector) == "y,z!=a,z"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=a=b", "found '=', expected: ',' or 'end of string'"),
        ("x=a||y=b", f'unable to parse requirement: values[0][x]: Invalid value: "a||y": '
                     f"{VALUE_MSG}"),
        ("x,", "found '', expected: identifier after ','"),
        (",x", "found ',', expected: !, identifier, or 'end of string'"),
        ("!x=a", "found '=', expected: ',' or 'end of string'"),
        ("a b", "unable to parse requirement: found 'b', expected: in, notin, =, ==, !=, gt, lt"),
        ("x in a", "unable to parse requirement: found 'a' expected: '('"),
        ("x in (a", "unable to parse requirement: found '', expected: ',' or ')'"),
        ("x in (a b)", "unable to parse requirement: found 'b', expected: ',' or ')'"),
        ("x in (=)", "unable to parse requirement: found '=', expected: ',', ')' or identifier"),
        ("x in (a,=)", "unable to parse requirement: found '=', expected: ',', or identifier"),
        ("x=(", "unable to parse requirement: found '(', expected: identifier"),
        ("!", "unable to parse requirement: found '', expected: identifier"),
        ("x<a", "unable to parse requirement: values[0]: Invalid value: \"a\": "
                "for 'Gt', 'Lt' operators, the value must be an integer"),
        ("app=a$b", f'unable to parse requirement: values[0][app]: Invalid value: "a$b": '
                    f"{VALUE_MSG}"),
        ("k>-1", f'unable to parse requirement: values[0][k]: Invalid value: "-1": {VALUE_MSG}'),
        ("a$=b", f'unable to parse requirement: <nil>: Invalid value: "a$": {NAME_PART_MSG}'),
        ('a"b', 'unable to parse requirement: <nil>: Invalid value: "a\\"b": '
                f"{NAME_PART_MSG}"),
        ("x in (a$,b$)",
         f'unable to parse requirement: [values[0][x]: Invalid value: "a$": {VALUE_MSG}, '
         f'values[1][x]: Invalid value: "b$": {VALUE_MSG}]'),
        ("k>a$", "unable to parse requirement: [values[0]: Invalid value: \"a$\": for 'Gt', "
                 f"'Lt' operators, the value must be an integer, values[0][k]: Invalid value: "
                 f'"a$": {VALUE_MSG}]'),
    ],
)
def test_parse_error_messages(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_label_selector(text)
    assert str(caught.value) == message


def test_too_long_value() -> None:
    with pytest.raises(SelectorError, match=r"values\[0\]\[x\]: .*must be no more than 63 bytes"):
        parse_label_selector("x=" + "a" * 64)


# -- matching: TestSelectorMatches, TestRequirementSelectorMatching ----------------------------


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x", {"x": "z"}, True),
        ("!x", {"y": "z"}, True),
        ("x>1", {"x": "2"}, True),
        ("x<1", {"x": "0"}, True),
        ("x<1", {"x": "-5"}, True),
        ("x=z", {}, False),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("x", {"y": "z"}, False),
        ("!x", {"x": "z"}, False),
        ("x>1", {"x": "0"}, False),
        ("x<1", {"x": "2"}, False),
        ("x>1", {}, False),
        ("x>1", {"x": "v2"}, False),
        ("x>1", {"x": "99999999999999999999"}, False),
        ("foo=bar", {"foo": "bar", "baz": "blah"}, True),
        ("foo=bar,baz=blah", {"foo": "bar", "baz": "blah"}, True),
        ("foo=bar,foobar=bar,baz=blah", {"foo": "bar", "baz": "blah"}, False),
        ("x in (foo),y notin (alpha)", {"x": "foo", "y": "baz"}, True),
        ("x in (foo),y in (alpha)", {"x": "foo", "y": "baz"}, False),
        ("x notin (),y", {"y": ""}, True),
        ("!x,y", {"y": ""}, True),
        ("x notin (),!y", {"y": ""}, False),
        ("x in ()", {"y": "baz"}, False),
        ("x in ()", {"x": ""}, True),
        ("x!=a", {}, True),
        ("x notin (a)", None, True),
        ("app in (web,api),!canary", {"app": "api"}, True),
        ("app in (web,api),!canary", {"app": "api", "canary": "true"}, False),
        ("x=", {"x": ""}, True),
        ("x=", {}, False),
    ],
)
def test_matches(text: str, labels: dict[str, str] | None, expected: bool) -> None:
    assert parse_label_selector(text).matches(labels) is expected


def test_everything_and_nothing() -> None:
    assert LabelSelector.everything().matches({"x": "y"})
    assert LabelSelector.everything().empty
    assert parse_label_selector("   ").empty
    assert not LabelSelector.nothing().matches({})
    assert not LabelSelector.nothing().empty
    assert str(LabelSelector.nothing()) == ""
    assert not parse_label_selector("x").empty


def test_requires_exact_match() -> None:
    selector = parse_label_selector("a=1,b in (2),c in (3,4),d!=5,e")
    assert selector.requires_exact_match("a") == "1"
    assert selector.requires_exact_match("b") == "2"
    assert selector.requires_exact_match("c") is None
    assert selector.requires_exact_match("d") is None
    assert selector.requires_exact_match("missing") is None


# -- NewRequirement and String: TestRequirementConstructor, TestToString ------------------------


@pytest.mark.parametrize(
    ("key", "operator", "values", "message"),
    [
        ("x1", Operator.IN, [], "values: Invalid value: []: for 'in', 'notin' operators, "
                                "values set can't be empty"),
        ("x2", Operator.NOT_IN, None, "values: Invalid value: null: for 'in', 'notin' "
                                      "operators, values set can't be empty"),
        ("x5", Operator.EQUALS, ["bar", "foo"], 'values: Invalid value: ["bar","foo"]: '
                                                "exact-match compatibility requires one single "
                                                "value"),
        ("x8", Operator.EXISTS, ["foo"], 'values: Invalid value: ["foo"]: values set must be '
                                         "empty for exists and does not exist"),
        ("x13", Operator.GREATER_THAN, [], "values: Invalid value: []: for 'Gt', 'Lt' "
                                           "operators, exactly one value is required"),
        ("x14", Operator.GREATER_THAN, ["bar"], "values[0]: Invalid value: \"bar\": for 'Gt', "
                                                "'Lt' operators, the value must be an integer"),
        ("a" * 254, Operator.EXISTS, [], f'key: Invalid value: "{"a" * 254}": '
                                         "name part must be no more than 63 bytes"),
        ("-" * 64, Operator.EXISTS, [],
         f'key: Invalid value: "{"-" * 64}": name part must be no more than 63 bytes; '
         f"{NAME_PART_MSG}"),
        ("x17", Operator.EQUALS, ["a b"], f'values[0][x17]: Invalid value: "a b": {VALUE_MSG}'),
    ],
)
def test_new_requirement_errors(
    key: str, operator: Operator, values: list[str] | None, message: str
) -> None:
    with pytest.raises(SelectorError) as caught:
        new_requirement(key, operator, values)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        ([req("x", Operator.IN, "abc", "def"), req("y", Operator.NOT_IN, "jkl"),
          req("z", Operator.EXISTS)], "x in (abc,def),y notin (jkl),z"),
        ([req("x", Operator.NOT_IN, "abc", "def"), req("y", Operator.NOT_EQUALS, "jkl"),
          req("z", Operator.DOES_NOT_EXIST)], "x notin (abc,def),y!=jkl,!z"),
        ([req("x", Operator.NOT_IN, "abc"), req("y", Operator.IN, "jkl", "mno"),
          req("z", Operator.NOT_IN, "")], "x notin (abc),y in (jkl,mno),z notin ()"),
        ([req("x", Operator.EQUALS, "abc"), req("y", Operator.DOUBLE_EQUALS, "jkl"),
          req("z", Operator.NOT_EQUALS, "a"), req("z", Operator.EXISTS)],
         "x=abc,y==jkl,z!=a,z"),
        ([req("x", Operator.GREATER_THAN, "2"), req("y", Operator.LESS_THAN, "8"),
          req("z", Operator.EXISTS)], "x>2,y<8,z"),
        ([req("x", Operator.IN, "def", "abc", "abc")], "x in (abc,def)"),
    ],
)
def test_to_string(requirements: list[Requirement], expected: str) -> None:
    assert str(LabelSelector(tuple(requirements))) == expected


# -- the object form: LabelSelectorAsSelector, FormatLabelSelector ----------------------------


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"matchLabels": {"app": "web"}}, "app=web"),
        ({"matchLabels": {"b": "2", "a": "1"}}, "a=1,b=2"),
        ({"matchExpressions": [{"key": "tier", "operator": "In", "values": ["db", "cache"]}]},
         "tier in (cache,db)"),
        ({"matchExpressions": [{"key": "tier", "operator": "NotIn", "values": ["db"]},
                               {"key": "canary", "operator": "DoesNotExist"},
                               {"key": "app", "operator": "Exists", "values": []}]},
         "app,!canary,tier notin (db)"),
        ({"matchLabels": {"k": "v"}, "matchExpressions": [{"key": "k", "operator": "Exists"}]},
         "k=v,k"),
        ({}, ""),
        ({"matchLabels": None, "matchExpressions": None}, ""),
    ],
)
def test_selector_from_spec(spec: dict[str, Any], expected: str) -> None:
    assert str(selector_from_label_selector_spec(spec)) == expected


def test_spec_none_matches_nothing_and_empty_spec_everything() -> None:
    assert not selector_from_label_selector_spec(None).matches({"a": "b"})
    assert selector_from_label_selector_spec({}).matches({"a": "b"})
    assert selector_from_label_selector_spec({}).empty


def test_spec_matching() -> None:
    spec = {"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "env", "operator": "In", "values": ["prod", "qa"]}]}
    selector = selector_from_label_selector_spec(spec)
    assert selector.matches({"app": "web", "env": "qa", "x": "y"})
    assert not selector.matches({"app": "web", "env": "dev"})
    assert not selector.matches({"env": "prod"})


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]},
         '"Gt" is not a valid label selector operator'),
        ({"matchExpressions": [{"key": "a"}]}, '"" is not a valid label selector operator'),
        ({"matchExpressions": [{"key": "a", "operator": "In"}]},
         "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": []}]},
         "values: Invalid value: null: for 'in', 'notin' operators, values set can't be empty"),
        ({"matchExpressions": [{"key": "a", "operator": "Exists", "values": ["x"]}]},
         'values: Invalid value: ["x"]: values set must be empty for exists and does not exist'),
        ({"matchLabels": {"a b": "c"}}, f'key: Invalid value: "a b": {NAME_PART_MSG}'),
        ({"matchLabels": {"a": "c d"}}, f'values[0][a]: Invalid value: "c d": {VALUE_MSG}'),
        ({"matchLabels": {"a": 1}}, "label selector keys and values must be strings, got 1"),
        ({"matchLabels": ["a"]}, "matchLabels must be an object and matchExpressions a list"),
        ({"matchExpressions": ["a"]}, "matchExpressions entries must be objects"),
        ({"matchExpressions": [{"key": "a", "operator": "In", "values": "x"}]},
         "matchExpressions values must be a list of strings"),
    ],
)
def test_spec_errors(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        selector_from_label_selector_spec(spec)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"matchLabels": {"app": "web"}}, "app=web"),
        ({}, "<none>"),
        (None, "<none>"),
        ({"matchExpressions": [{"key": "a", "operator": "Bogus"}]}, "<error>"),
    ],
)
def test_format_label_selector_spec(spec: dict[str, Any] | None, expected: str) -> None:
    assert format_label_selector_spec(spec) == expected


# -- field selectors: pkg/fields/selector_test.go ------------------------------------------


@pytest.mark.parametrize(
    "text", ["x=a,y=b,z=c", "", "x!=a,y=b", r"x=a||y\=b", r"x=a\=\=b"],
)
def test_field_selector_restrings(text: str) -> None:
    assert str(parse_field_selector(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("x=a||y=b", "invalid field selector: unescaped character in value: 61"),
        ("x==a==b", "invalid field selector: unescaped character in value: 61"),
        ("x=a,b", "invalid selector: 'x=a,b'; can't understand 'b'"),
        ("x in (a)", "invalid selector: 'x in (a)'; can't understand 'x in (a)'"),
        ("x in (a,b,c)", "invalid selector: 'x in (a,b,c)'; can't understand 'b'"),
        ("x", "invalid selector: 'x'; can't understand 'x'"),
        ("x>1", "invalid selector: 'x>1'; can't understand 'x>1'"),
        ("k=\\", "invalid field selector: invalid escape sequence: \\"),
        ("k=\\\\\\", "invalid field selector: invalid escape sequence: \\"),
        ("k=\\a", "invalid field selector: invalid escape sequence: \\a"),
    ],
)
def test_field_selector_errors(text: str, message: str) -> None:
    with pytest.raises(SelectorError) as caught:
        parse_field_selector(text)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("a=avalue,b==bvalue,c!=cvalue",
         [FieldTerm("a", "avalue"), FieldTerm("b", "bvalue"), FieldTerm("c", "cvalue", True)]),
        ("a=a,", [FieldTerm("a", "a")]),
        (",a=a", [FieldTerm("a", "a")]),
        # terms keep upstream's order: sorted by their source text, and "2" sorts before "="
        (r"k=\,,k2=v2", [FieldTerm("k2", "v2"), FieldTerm("k", ",")]),
        (r"k=\\,k2=v2", [FieldTerm("k2", "v2"), FieldTerm("k", "\\")]),
        (r"k=\\\,,k2=v2", [FieldTerm("k2", "v2"), FieldTerm("k", "\\,")]),
        ("함=수,목=록", [FieldTerm("목", "록"), FieldTerm("함", "수")]),
        ("x=a,a=x", [FieldTerm("a", "x"), FieldTerm("x", "a")]),
        ("metadata.name=", [FieldTerm("metadata.name", "")]),
        ("a = b", [FieldTerm("a ", " b")]),
    ],
)
def test_field_selector_terms(text: str, terms: list[FieldTerm]) -> None:
    assert parse_field_selector(text) == FieldSelector(tuple(terms))


@pytest.mark.parametrize(
    ("raw", "escaped"), [("", ""), ("a", "a"), ("=", r"\="), (",", r"\,"), ("\\", "\\\\"),
                         (r"\=\,\ ".strip(), r"\\\=\\\,\\")],
)
def test_escape_field_value(raw: str, escaped: str) -> None:
    assert escape_field_value(raw) == escaped
    assert parse_field_selector(f"k={escaped}").terms[0].value == raw


FIELDS = {"foo": "bar", "baz": "blah", "complex": "=value\\,\\"}


@pytest.mark.parametrize(
    ("text", "values", "expected"),
    [
        ("", {"x": "y"}, True),
        ("x=y", {"x": "y"}, True),
        ("x=y,z=w", {"x": "y", "z": "w"}, True),
        ("x!=y,z!=w", {"x": "z", "z": "a"}, True),
        ("notin=in", {"notin": "in"}, True),
        ("x=y", {"x": "z"}, False),
        ("x=y,z=w", {"x": "w", "z": "w"}, False),
        ("x!=y,z!=w", {"x": "z", "z": "w"}, False),
        ("foo=bar,baz=blah", FIELDS, True),
        (r"foo=bar,baz=blah,complex=\=value\\\,\\", FIELDS, True),
        ("foo=blah", FIELDS, False),
        ("foo=bar,foobar=bar,baz=blah", FIELDS, False),
        ("spec.nodeName=", {}, True),
        ("spec.nodeName!=", {}, False),
    ],
)
def test_field_selector_matches(text: str, values: dict[str, str], expected: bool) -> None:
    assert parse_field_selector(text).matches(values) is expected


def test_field_selector_fields_and_exact_match() -> None:
    selector = parse_field_selector("metadata.name=web,status.phase!=Failed,spec.nodeName==n1")
    assert selector.fields == {"metadata.name", "status.phase", "spec.nodeName"}
    assert selector.requires_exact_match("spec.nodeName") == "n1"
    assert selector.requires_exact_match("status.phase") is None
    assert parse_field_selector("").empty
    assert not selector.empty


@pytest.mark.parametrize(
    ("text", "expected"),
    [("metadata.name=web", "web"), ("metadata.name==web", "web"), ("metadata.name=", ""),
     ("metadata.name!=web", None), ("metadata.name=web,metadata.namespace=ns", None),
     ("metadata.namespace=ns", None), ("", None)],
)
def test_single_name(text: str, expected: str | None) -> None:
    assert single_name(parse_field_selector(text)) == expected


POD = {
    "metadata": {"name": "web-0", "namespace": "default", "labels": {"app": "web"}},
    "spec": {"nodeName": "n1", "restartPolicy": "Always", "unschedulable": True,
             "priority": 10},
    "status": {"phase": "Running", "ready": False},
    "involvedObject": {"uid": "1234"},
}


@pytest.mark.parametrize(
    ("path", "expected"),
    [("metadata.name", "web-0"), ("metadata.namespace", "default"), ("spec.nodeName", "n1"),
     ("status.phase", "Running"), ("involvedObject.uid", "1234"),
     ("spec.unschedulable", "true"), ("status.ready", "false"), ("spec.priority", "10"),
     ("spec.schedulerName", ""), ("metadata.labels", ""), ("metadata.name.deeper", ""),
     ("nothing.here", "")],
)
def test_field_value(path: str, expected: str) -> None:
    assert field_value(POD, path) == expected


# -- properties ----------------------------------------------------------------------------

_NAME = st.from_regex(r"[A-Za-z0-9]([-A-Za-z0-9_.]{0,10}[A-Za-z0-9])?", fullmatch=True)
_PREFIX = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,6}[a-z0-9])?(\.[a-z0-9]{1,5}){0,2}",
                        fullmatch=True)
_KEY = st.one_of(_NAME, st.builds(lambda p, n: f"{p}/{n}", _PREFIX, _NAME))
_VALUE = st.one_of(st.just(""), _NAME)
_INT = st.integers(min_value=0, max_value=10**12).map(str)


@st.composite
def requirements(draw: st.DrawFn) -> Requirement:
    key = draw(_KEY)
    operator = draw(st.sampled_from(list(Operator)))
    if operator in (Operator.EXISTS, Operator.DOES_NOT_EXIST):
        values: list[str] = []
    elif operator in (Operator.IN, Operator.NOT_IN):
        values = draw(st.lists(_VALUE, min_size=1, max_size=4))
    elif operator in (Operator.GREATER_THAN, Operator.LESS_THAN):
        values = [draw(_INT)]
    else:
        values = [draw(_VALUE)]
    return new_requirement(key, operator, values)


label_selectors = st.lists(requirements(), max_size=5).map(
    lambda found: LabelSelector(tuple(sorted(found, key=lambda r: r.key)))
)


@given(label_selectors)
def test_label_selector_round_trips(selector: LabelSelector) -> None:
    assert parse_label_selector(str(selector)) == selector


@given(label_selectors, st.dictionaries(_KEY, st.one_of(_VALUE, _INT), max_size=5))
def test_parsed_selector_matches_like_the_original(
    selector: LabelSelector, labels: dict[str, str]
) -> None:
    assert parse_label_selector(str(selector)).matches(labels) == selector.matches(labels)


_FIELD_TEXT = st.text(alphabet="abc.=,\\ !x", max_size=8)


@given(st.lists(st.tuples(st.from_regex(r"[a-z][a-zA-Z.]{0,12}", fullmatch=True), _FIELD_TEXT,
                          st.booleans()), max_size=4))
def test_field_selector_round_trips(raw: list[tuple[str, str, bool]]) -> None:
    text = ",".join(str(FieldTerm(field, value, negated)) for field, value, negated in raw)
    selector = parse_field_selector(text)
    assert parse_field_selector(str(selector)) == selector
    assert sorted(selector.terms, key=str) == sorted(
        (FieldTerm(field, value, negated) for field, value, negated in raw), key=str
    )
