"""Include chains merged with rpm-ostree's rules (rust/src/treefile.rs `treefile_merge`,
`treefile_parse_recurse`): scalars first-wins, lists with the includes' entries first
(a later include's before an earlier one's), packages a sorted set, maps with the
includer's entries winning; `include`, then `arch-include`, then `conditional-include`;
a file included twice is an error."""

from __future__ import annotations

from pathlib import Path

from fedostree.model.treefile_load import MAX_INCLUDE_DEPTH, load_treefile
from tests.support.treefiles import config_error, load, write


def test_include_chain_lists_append_included_first_and_scalars_override(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        """\
        ref: base/ref
        repos: [fedora]
        packages: [kernel]
        releasever: "38"
        default-target: multi-user.target
        units: [sshd.service]
        remove-files: [usr/share/doc]
        """,
    )
    write(
        tmp_path,
        "mid.yaml",
        """\
        include: base.yaml
        ref: mid/ref
        repos: [updates]
        packages: [podman]
        automatic-version-prefix: "38"
        """,
    )
    top = write(
        tmp_path,
        "top.yaml",
        """\
        include: mid.yaml
        packages: [gnome-shell]
        releasever: "39"
        units: [gdm.service]
        """,
    )
    tf = load_treefile(top)
    assert tf.path == top
    assert tf.ref == "mid/ref"  # the nearest includer that sets it wins
    assert tf.repos == ("fedora", "updates")
    assert tf.packages == ("gnome-shell", "kernel", "podman")  # a sorted set
    assert tf.releasever == "39"
    assert tf.automatic_version_prefix == "38"
    assert tf.default_target == "multi-user.target"
    assert tf.units == ("sshd.service", "gdm.service")
    assert tf.remove_files == ("usr/share/doc",)


def test_several_includes_first_scalar_wins_later_lists_first(tmp_path: Path) -> None:
    """rpm-ostree: among includes the first one's scalar wins (fedostree used to let the
    last one win); a later include's list entries come before an earlier one's."""
    write(tmp_path, "a.yaml", "packages: [a]\nref: from-a\nrepos: [ra]\n")
    write(tmp_path, "sub/b.yaml", "packages: [b]\nref: from-b\nrepos: [rb]\n")
    top = write(
        tmp_path, "top.yaml", "include: [a.yaml, sub/b.yaml]\npackages: [top]\nrepos: [rt]\n"
    )
    tf = load_treefile(top)
    assert tf.packages == ("a", "b", "top")
    assert tf.ref == "from-a"
    assert tf.repos == ("rb", "ra", "rt")
    assert tf.repo_dirs == (tmp_path, tmp_path / "sub")


def test_postprocess_order_is_the_documented_one(tmp_path: Path) -> None:
    """docs/treefile.md: an includer's scripts after its includes'; of several
    includes, the latter's before the earlier's: baz, bar, foo."""
    tf = load(
        tmp_path,
        "include: [manifests/kernel.yaml, manifests/bootupd.yaml]\npostprocess: [echo foo]\n",
        {
            "manifests/kernel.yaml": "postprocess: [echo bar]\n",
            "manifests/bootupd.yaml": "postprocess: [echo baz]\n",
        },
    )
    assert tf.postprocess == ("echo baz", "echo bar", "echo foo")


def test_nested_includes_order_depth_first(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        "include: [a.yaml, b.yaml]\nrepos: [top]\n",
        {
            "a.yaml": "include: a1.yaml\nrepos: [a]\n",
            "a1.yaml": "repos: [a1]\n",
            "b.yaml": "include: b1.yaml\nrepos: [b]\n",
            "b1.yaml": "repos: [b1]\n",
        },
    )
    assert tf.repos == ("b1", "b", "a1", "a", "top")


def test_arch_include_after_include_then_conditional_include(tmp_path: Path) -> None:
    text = """\
        include: common.yaml
        arch-include:
          x86_64: [x86.yaml]
          s390x: s390x-does-not-exist.yaml
        conditional-include:
          - if: basearch == "x86_64"
            include: cond.yaml
        postprocess: [top]
        """
    files = {
        "common.yaml": "postprocess: [common]\n",
        "x86.yaml": "postprocess: [x86]\npackages: [grub2]\n",
        "cond.yaml": "postprocess: [cond]\n",
    }
    tf = load(tmp_path, text, files)
    assert tf.postprocess == ("cond", "x86", "common", "top")
    assert tf.packages == ("grub2",)
    aarch64 = load(tmp_path, text, files, basearch="aarch64")
    assert (aarch64.packages, aarch64.postprocess) == ((), ("common", "top"))
    assert config_error(tmp_path / "tree.yaml", basearch="s390x").endswith(
        "arch-include.s390x: s390x-does-not-exist.yaml: no such file"
    )


def test_packages_for_the_basearch_merge_and_other_arches_are_ignored(tmp_path: Path) -> None:
    write(
        tmp_path,
        "base.yaml",
        "packages: [kernel]\npackages-x86_64: [grub2-pc]\npackages-aarch64: [grub2-efi-aa64]\n",
    )
    top = write(
        tmp_path,
        "tree.yaml",
        """\
        include: base.yaml
        packages: [bash]
        packages-x86_64: [microcode_ctl thermald]
        packages-aarch64: [uboot-tools]
        packages-ppc64le: [grub2]
        bootstrap_packages: [filesystem]
        """,
    )
    tf = load_treefile(top, basearch="x86_64")
    assert tf.packages == ("bash", "filesystem", "grub2-pc", "kernel", "microcode_ctl", "thermald")
    aarch64 = load_treefile(top, basearch="aarch64")
    assert aarch64.packages == ("bash", "filesystem", "grub2-efi-aa64", "kernel", "uboot-tools")


def test_maps_merge_with_the_includers_entries_winning_and_sets_union(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        """\
        include: base.yaml
        add-commit-metadata: {a: top, c: top}
        ignore-removed-users: [root, zed]
        metadata: {x: 1}
        """,
        {
            "base.yaml": """\
            add-commit-metadata: {a: base, b: base}
            ignore-removed-users: [adm, root]
            metadata: {x: 2, y: 2}
            """
        },
    )
    assert tf.add_commit_metadata == {"a": "top", "b": "base", "c": "top"}
    assert tf.ignore_removed_users == ("adm", "root", "zed")
    assert tf.metadata == {"x": 1, "y": 2}


def test_repo_packages_named_again_come_from_the_last_entry(tmp_path: Path) -> None:
    """rpm-ostree's test_treefile_includes: an included entry named again by a later
    entry (or by the includer) loses that package; emptied entries disappear."""
    tf = load(
        tmp_path,
        """\
        include: foo.yaml
        repo-packages:
          - repo: baserepo
            packages: [blah bloo]
        """,
        {
            "foo.yaml": """\
            repo-packages:
              - repo: foo
                packages: [qwert]
              - repo: foob
                packages: [blah]
              - repo: foo2
                packages: [qwert]
            """
        },
    )
    assert [(r.repo, r.packages) for r in tf.repo_packages] == [
        ("foo2", ("qwert",)),
        ("baserepo", ("blah", "bloo")),
    ]


def test_informational_keys_first_wins(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        "include: base.yaml\ngpg_key: TOP\n",
        {"base.yaml": "gpg-key: BASE\nrojig: {name: n, summary: s, license: MIT}\n"},
    )
    assert tf.informational["gpg-key"] == "TOP"
    assert tf.informational["rojig"]["name"] == "n"


def test_paths_are_relative_to_the_file_that_names_them(tmp_path: Path) -> None:
    write(tmp_path, "common/post.sh", "#!/bin/sh\ntrue\n")
    write(tmp_path, "common/motd", "hi\n")
    write(
        tmp_path,
        "common/base.yaml",
        "postprocess-script: post.sh\nadd-files: [[motd, /etc/motd]]\n",
    )
    write(tmp_path, "top/issue", "top\n")
    top = write(
        tmp_path,
        "top/tree.yaml",
        "include: ../common/base.yaml\nadd-files: [[issue, /etc/issue]]\n",
    )
    tf = load_treefile(top)
    assert tf.postprocess_script is not None
    assert tf.postprocess_script.resolve() == tmp_path / "common/post.sh"
    assert tf.postprocess_script_written == "post.sh"
    assert [(a.source.resolve(), a.dest, a.written) for a in tf.add_files] == [
        (tmp_path / "common/motd", "/etc/motd", "motd"),
        (tmp_path / "top/issue", "/etc/issue", "issue"),
    ]


def test_two_add_files_sources_of_one_name_are_refused(tmp_path: Path) -> None:
    """rpm-ostree keeps one file per add-files source name across the chain: the
    includer's `motd` would silently be replaced by the include's."""
    write(tmp_path, "common/motd", "common\n")
    write(tmp_path, "common/base.yaml", "add-files: [[motd, /etc/motd]]\n")
    write(tmp_path, "top/motd", "top\n")
    top = write(
        tmp_path, "top/tree.yaml", "include: ../common/base.yaml\nadd-files: [[motd, /etc/issue]]\n"
    )
    message = config_error(top)
    assert message.startswith(f"{top}: add-files: 'motd' names two files (")
    assert message.endswith("rename one")


def test_edition_2024_defaults_apply_in_the_file_that_sets_it(tmp_path: Path) -> None:
    """rpm-ostree sets tmp-is-dir and boot-location when it parses the file with
    `edition: "2024"`: that file's value then wins over an include's."""
    tf = load(
        tmp_path, 'edition: "2024"\ninclude: base.yaml\n', {"base.yaml": "tmp-is-dir: false\n"}
    )
    assert (tf.edition, tf.tmp_is_dir, tf.boot_location) == ("2024", True, "modules")
    tf = load(tmp_path, "include: base.yaml\n", {"base.yaml": 'edition: "2024"\n'})
    assert (tf.effective_tmp_is_dir, tf.effective_boot_location) == (True, "modules")
    tf = load(tmp_path, "tmp-is-dir: false\n")
    assert (tf.effective_tmp_is_dir, tf.effective_boot_location) == (False, "new")


# --- inline conditional treefiles ---


def test_inline_treefile_merges_before_the_files_included(tmp_path: Path) -> None:
    tf = load(
        tmp_path,
        """\
        releasever: 35
        include: base.yaml
        conditional-include:
          - if: releasever == 35
            include:
              packages: [inlinedpkg]
              postprocess: [inline]
              ref: from-inline
        postprocess: [top]
        """,
        {"base.yaml": "postprocess: [base]\nref: from-base\n"},
    )
    assert tf.packages == ("inlinedpkg",)
    assert tf.postprocess == ("base", "inline", "top")
    assert tf.ref == "from-inline"


def test_an_inline_treefile_cannot_name_files_or_include(tmp_path: Path) -> None:
    """rpm-ostree reads an inline treefile as it stands: it would silently ignore these."""
    for key, value in (
        ("postprocess-script", "post.sh"),
        ("add-files", "[[motd, /etc/motd]]"),
        ("include", "more.yaml"),
        ("variables", "{a: 1}"),
        ("packages-x86_64", "[grub2]"),
        ("bootstrap_packages", "[glibc]"),
    ):
        path = write(
            tmp_path,
            "tree.yaml",
            f'conditional-include:\n  - if: basearch == "x86_64"\n    include:\n      {key}: {value}\n',
        )
        message = config_error(path)
        assert message.startswith(
            f"{path}: conditional-include[0].include: {key}: not supported here: "
        )
    path = write(
        tmp_path,
        "tree.yaml",
        'conditional-include:\n- if: basearch == "x86_64"\n  include:\n    check-passwd: {type: file, filename: p}\n',
    )
    assert config_error(path) == (
        f"{path}: conditional-include[0].include: check-passwd: not supported here: "
        "an inline treefile cannot name files"
    )


# --- files included twice, loops, depth ---


def test_include_of_itself_is_a_loop(tmp_path: Path) -> None:
    path = write(tmp_path, "tree.yaml", "include: tree.yaml\n")
    assert config_error(path) == f"{path} -> include -> tree.yaml: include loop"


def test_include_loop_through_another_file(tmp_path: Path) -> None:
    write(tmp_path, "b.yaml", "include: a.yaml\n")
    a = write(tmp_path, "a.yaml", "include: b.yaml\n")
    assert config_error(a) == f"{a} -> include -> b.yaml -> include -> a.yaml: include loop"


def test_include_loop_spelled_with_dotdot(tmp_path: Path) -> None:
    path = write(tmp_path, "d/a.yaml", "include: ../d/a.yaml\n")
    assert config_error(path) == f"{path} -> include -> ../d/a.yaml: include loop"


def test_include_loop_through_a_symlinked_directory(tmp_path: Path) -> None:
    path = write(tmp_path, "d/a.yaml", "include: self/a.yaml\n")
    (tmp_path / "d/self").symlink_to(".")
    assert config_error(path) == f"{path} -> include -> self/a.yaml: include loop"


def test_same_file_included_twice_is_an_error(tmp_path: Path) -> None:
    """rpm-ostree refuses a file included twice, even without a loop (fedostree used to
    merge it twice)."""
    write(tmp_path, "common.yaml", "repos: [fedora]\n")
    write(tmp_path, "a.yaml", "include: common.yaml\npackages: [a]\n")
    write(tmp_path, "b.yaml", "include: common.yaml\npackages: [b]\n")
    top = write(tmp_path, "top.yaml", "include: [a.yaml, b.yaml]\n")
    assert config_error(top) == (
        f"{top} -> include -> b.yaml -> include -> common.yaml: already included by "
        f"{top} -> include -> a.yaml -> include -> common.yaml; "
        "a treefile may be included only once (as in rpm-ostree)"
    )


def test_include_depth_is_limited(tmp_path: Path) -> None:
    for i in range(MAX_INCLUDE_DEPTH + 1):
        write(tmp_path, f"t{i}.yaml", f"include: t{i + 1}.yaml\n")
    write(tmp_path, f"t{MAX_INCLUDE_DEPTH + 1}.yaml", "packages: [p]\n")
    message = config_error(tmp_path / "t0.yaml")
    assert message.endswith(f"include: deeper than {MAX_INCLUDE_DEPTH} includes")
    assert message.count("-> include ->") == MAX_INCLUDE_DEPTH
