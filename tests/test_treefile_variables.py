"""`variables`, `conditional-include` and `${var}` substitution, as rpm-ostree evaluates
them (rust/src/treefile.rs: `treefile_parse_recurse`, `IncludeCondition`,
`substitute_vars`, and its tests test_treefile_conditional_includes,
test_treefile_conditional_include_errors, test_variables)."""

from __future__ import annotations

from pathlib import Path

import pytest

from fedostree.model.treefile_load import load_treefile
from tests.support.treefiles import compose_error, config_error, load, write

# --- conditions ---


def test_conditions_as_rpm_ostree_tests_them(tmp_path: Path) -> None:
    files = {
        f"foo-{name}.yaml": f"packages: [foo-{name}]\n"
        for name in ("x86_64", "le", "ge", "eq", "true", "false", "str", "multi-a", "multi-b")
    }
    files["nested.yaml"] = (
        "conditional-include:\n  - if: releasever == 35\n    include: foo-nested.yaml\n"
    )
    files["foo-nested.yaml"] = (
        "packages: [foo-nested]\n"
        "conditional-include:\n  - if: releasever == 35\n    include: foo-more-nested.yaml\n"
    )
    files["foo-more-nested.yaml"] = "packages: [foo-more-nested]\n"
    tf = load(
        tmp_path,
        """\
        releasever: 35
        variables:
          mynum: 5
          myfalse: false
          mytrue: true
          mystr: ""
          mystr2: "dodo"
        include: nested.yaml
        conditional-include:
          - if: basearch == "x86_64"
            include: foo-x86_64.yaml
          - if: basearch == "s390x"
            include: enoent1.yaml
          - if: releasever < 35
            include: enoent2.yaml
          - if: releasever > 35
            include: enoent3.yaml
          - if: releasever <= 35
            include: foo-le.yaml
          - if: releasever == 35
            include: foo-eq.yaml
          - if: releasever != 35
            include: enoent4.yaml
          - if: releasever >= 35
            include: foo-ge.yaml
          - if: myfalse == false
            include: foo-false.yaml
          - if: mytrue == true
            include: foo-true.yaml
          - if: mytrue != true
            include: enoent6.yaml
          - if: [mystr == "", mystr2 == "dodo"]
            include: foo-str.yaml
          - if: [mystr == "x", mystr2 == "dodo"]
            include: enoent7.yaml
          - if: [mynum == 5, mystr == "", releasever == 35, myfalse == false]
            include: [foo-multi-a.yaml, foo-multi-b.yaml]
        """,
        files,
    )
    assert set(tf.packages) == {
        "foo-x86_64",
        "foo-le",
        "foo-eq",
        "foo-ge",
        "foo-false",
        "foo-true",
        "foo-str",
        "foo-multi-a",
        "foo-multi-b",
        "foo-nested",
        "foo-more-nested",
    }


def test_releasever_compares_as_written(tmp_path: Path) -> None:
    """A quoted releasever is a string: it compares with "35", not with 35."""
    tf = load(
        tmp_path,
        'releasever: "35"\nconditional-include:\n  - if: releasever == "35"\n    include: {packages: [yes35]}\n',
    )
    assert tf.packages == ("yes35",)
    path = write(
        tmp_path,
        "num.yaml",
        'releasever: "35"\nconditional-include:\n  - if: releasever >= 35\n    include: x.yaml\n',
    )
    assert config_error(path) == (
        f"{path}: conditional-include[0].if: 'releasever >= 35': releasever is a string ('35'), not a number"
    )


@pytest.mark.parametrize(
    ("condition", "what"),
    [
        ("garbage", "invalid condition: 'garbage' (expected VAR OP VALUE)"),
        ("5", "invalid condition: '5' (expected VAR OP VALUE)"),
        (
            "myvar garbage true",
            "'myvar garbage true': expected one of ==, !=, >, >=, <, <= but got garbage",
        ),
        ("myvar == garbage", "invalid condition: 'myvar == garbage' (expected VAR OP VALUE)"),
        ("releasever<41", "'releasever<41': expected one of ==, !=, >, >=, <, <= but got <4"),
        ("mystr > 8", "'mystr > 8': mystr is a string ('str'), not a number"),
        ("mybool <= 5", "'mybool <= 5': mybool is a boolean (true), not a number"),
        ('mystr > "asd"', "'mystr > \"asd\"': > compares numbers only"),
        ('enoent > "asd"', "'enoent > \"asd\"': undefined variable 'enoent'"),
    ],
)
def test_bad_conditions_are_errors(tmp_path: Path, condition: str, what: str) -> None:
    path = write(
        tmp_path,
        "tree.yaml",
        f"""\
        releasever: 40
        variables: {{mystr: "str", mybool: true}}
        conditional-include:
          - if: '{condition}'
            include: enoent.yaml
        """,
    )
    assert config_error(path) == f"{path}: conditional-include[0].if: {what}"


def test_every_condition_of_a_list_is_checked(tmp_path: Path) -> None:
    """rpm-ostree evaluates all of them, so a bad one fails even after a false one."""
    path = write(
        tmp_path,
        "tree.yaml",
        "variables: {a: 1}\nconditional-include:\n  - if: [a == 2, b == 1]\n    include: x.yaml\n",
    )
    assert (
        config_error(path)
        == f"{path}: conditional-include[0].if[1]: 'b == 1': undefined variable 'b'"
    )


# --- variable scoping ---


def test_the_includers_variables_win_over_its_includes(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        "variables: {stream: top}\ninclude: base.yaml\n",
        {"base.yaml": 'variables: {stream: base, extra: base}\nref: "os/${stream}/${extra}"\n'},
    )
    assert tf.ref == "os/top/base"
    assert tf.variables == {"stream": "top", "extra": "base", "basearch": "x86_64"}


def test_an_include_sees_the_variables_of_the_siblings_read_before_it(tmp_path: Path) -> None:
    """Variables are shared by the whole load: an earlier sibling's (and its includes')
    are defined when a later sibling's conditions are evaluated."""
    tf = load(
        tmp_path,
        "include: [a.yaml, b.yaml]\n",
        {
            "a.yaml": "include: a1.yaml\n",
            "a1.yaml": "variables: {flavor: server}\n",
            "b.yaml": 'conditional-include:\n  - if: flavor == "server"\n    include: {packages: [srv]}\n',
        },
    )
    assert tf.packages == ("srv",)


def test_a_files_conditions_do_not_see_its_includes_variables(tmp_path: Path) -> None:
    """A file's conditional includes are evaluated before its includes are read."""
    path = write(
        tmp_path,
        "tree.yaml",
        'include: vars.yaml\nconditional-include:\n  - if: flavor == "server"\n    include: x.yaml\n',
    )
    write(tmp_path, "vars.yaml", "variables: {flavor: server}\n")
    assert config_error(path) == (
        f"{path}: conditional-include[0].if: 'flavor == \"server\"': undefined variable 'flavor'"
    )


def test_the_first_releasever_wins_as_field_and_as_variable(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        'include: [a.yaml, b.yaml]\nref: "r/${releasever}"\n',
        {"a.yaml": "releasever: 39\n", "b.yaml": "releasever: 40\n"},
    )
    assert (tf.releasever, tf.ref, tf.variables["releasever"]) == ("39", "r/39", 39)


@pytest.mark.parametrize("name", ["releasever", "basearch"])
def test_reserved_variables_cannot_be_defined(tmp_path: Path, name: str) -> None:
    path = write(tmp_path, "tree.yaml", f"variables: {{{name}: foo}}\n")
    assert (
        config_error(path)
        == f"{path}: variables.{name}: cannot define the reserved variable '{name}'"
    )


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ('"a${b}"', "'a${b}': a variable value cannot contain $, { or }"),
        ("-1", "expected a boolean, a number or a string, got -1"),
        ("1.5", "expected a boolean, a number or a string, got 1.5"),
        ("[a]", "expected a boolean, a number or a string, got ['a']"),
    ],
)
def test_bad_variable_values(tmp_path: Path, value: str, what: str) -> None:
    path = write(tmp_path, "tree.yaml", f"variables:\n  foo: {value}\n")
    assert config_error(path) == f"{path}: variables.foo: {what}"


# --- substitution ---


def test_basearch_and_releasever_in_ref(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "tree.yaml",
        'ref: "fedora/${releasever}/${basearch}/silverblue"\nreleasever: 39\n',
    )
    assert load_treefile(path, basearch="x86_64").ref == "fedora/39/x86_64/silverblue"
    assert load_treefile(path, basearch="aarch64").ref == "fedora/39/aarch64/silverblue"


def test_releasever_from_an_include_substitutes_the_includers_ref(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", "releasever: rawhide\n")
    top = write(tmp_path, "tree.yaml", 'include: base.yaml\nref: "f/${releasever}/${basearch}"\n')
    assert load_treefile(top, basearch="x86_64").ref == "f/rawhide/x86_64"


def test_substituted_where_rpm_ostree_substitutes(tmp_path: Path) -> None:
    """rpm-ostree's test_variables: ref, automatic-version-prefix, mutate-os-release,
    the string values of add-commit-metadata and metadata, rojig; not scripts."""
    tf = load(
        tmp_path,
        """\
        variables: {foo: bar, baz: 5, boo: false}
        releasever: "30"
        ref: "exampleos/${basearch}/${releasever}/${foo}/${baz}/${boo}"
        automatic-version-prefix: "${releasever}.<date:%Y>"
        mutate-os-release: ${releasever}
        add-commit-metadata: {my-arch: "my arch is ${basearch}", n: 1000, nested: {a: "${foo}"}}
        metadata: {name: "${foo}"}
        rojig: {name: "os ${releasever}", summary: "os ${basearch}", license: MIT}
        postprocess: ['echo "${foo}"']
        """,
    )
    assert tf.ref == "exampleos/x86_64/30/bar/5/false"
    assert tf.automatic_version_prefix == "30.<date:%Y>"
    assert tf.mutate_os_release == "30"
    assert tf.add_commit_metadata == {
        "my-arch": "my arch is x86_64",
        "n": 1000,
        "nested": {"a": "${foo}"},
    }
    assert tf.metadata == {"name": "bar"}
    assert tf.informational["rojig"]["summary"] == "os x86_64"
    assert tf.postprocess == ('echo "${foo}"',)


def test_ref_with_an_undefined_variable_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", 'ref: "fedora/${releasever}/${basearch}/base"\n')
    assert (
        config_error(path)
        == f"{path}: ref: 'fedora/${{releasever}}/${{basearch}}/base': no value for ${{releasever}}"
    )
    other = write(tmp_path, "other.yaml", 'ref: "fedora/${stream}/base"\n')
    assert "${stream}" in config_error(other)


def test_a_bad_date_format_in_the_version_prefix_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", 'automatic-version-prefix: "10.<date:%E>"\n')
    assert (
        config_error(path)
        == f"{path}: automatic-version-prefix: error in formatting date string (%E)"
    )


# --- bad input through the command line: one line, exit 2, nothing written ---


def test_cli_include_loop(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", "include: a.yaml\n")
    a = write(tmp_path, "a.yaml", "include: b.yaml\nref: x/y\n")
    assert (
        compose_error(a, tmp_path) == f"{a} -> include -> b.yaml -> include -> a.yaml: include loop"
    )


def test_cli_variable_with_no_value(tmp_path: Path) -> None:
    write(tmp_path, "base.yaml", 'add-commit-metadata: {stream: "${stream}"}\n')
    tree = write(tmp_path, "tree.yaml", "include: base.yaml\nref: a/b\n")
    assert compose_error(tree, tmp_path) == (
        f"{tree} -> include -> base.yaml: add-commit-metadata.stream: '${{stream}}': "
        "no value for ${stream}"
    )


def test_cli_condition_that_does_not_parse(tmp_path: Path) -> None:
    write(tmp_path, "mid.yaml", "conditional-include:\n  - if: prod = false\n    include: x.yaml\n")
    tree = write(tmp_path, "tree.yaml", "variables: {prod: false}\ninclude: mid.yaml\n")
    assert compose_error(tree, tmp_path) == (
        f"{tree} -> include -> mid.yaml: conditional-include[0].if: 'prod = false': "
        "expected one of ==, !=, >, >=, <, <= but got ="
    )


def test_cli_condition_on_an_undefined_variable(tmp_path: Path) -> None:
    write(
        tmp_path, "mid.yaml", "conditional-include:\n  - if: [prod == false]\n    include: x.yaml\n"
    )
    tree = write(tmp_path, "tree.yaml", "include: mid.yaml\n")
    assert compose_error(tree, tmp_path) == (
        f"{tree} -> include -> mid.yaml: conditional-include[0].if[0]: 'prod == false': "
        "undefined variable 'prod'"
    )


def test_cli_condition_with_a_type_mismatch(tmp_path: Path) -> None:
    tree = write(
        tmp_path,
        "tree.yaml",
        'variables: {prod: "false"}\nconditional-include:\n  - if: prod == false\n    include: x.yaml\n',
    )
    assert compose_error(tree, tmp_path) == (
        f"{tree}: conditional-include[0].if: 'prod == false': prod is a string ('false'), "
        "not a boolean"
    )
