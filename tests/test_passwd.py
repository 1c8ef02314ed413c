"""Users and groups as rpm-ostree composes them, with real composes: the nss-altfiles
split, check-passwd/check-groups and preserve-passwd. The packages' %pre scriptlets
allocate ids as `useradd` does: the user's entry is kept if it exists, otherwise the
lowest free id from 900 is taken."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from fedostree.engine.passwd import PasswdFormatError, parse_group, parse_passwd
from fedostree.engine.passwd_tree import with_altfiles
from tests.support.cli import compose, error_message, refs
from tests.support.rpms import Pkg, base_packages, make_repo, write_treefile

PASSWD = "root:x:0:0:root:/root:/bin/sh\nbin:x:1:1:bin:/bin:/sbin/nologin\n"
GROUP = "root:x:0:\nbin:x:1:\nwheel:x:10:root\n"
SHADOW = "root:!:19000:0:99999:7:::\nbin:*:19000:0:99999:7:::\n"
NSSWITCH = "passwd:     files sss\nshadow:     files\ngroup:      files\nhosts: files dns\n"
USERADD = "GROUP=100\nHOME=/home\nSHELL=/bin/bash\n"


def useradd(name: str) -> str:
    """A %pre that adds the user and its group unless it exists, at the lowest free id
    from 900, and leaves a backup as shadow-utils does."""
    return (
        f"grep -q '^{name}:' /etc/passwd && exit 0\n"
        "id=900\n"
        'while grep -q "^[^:]*:[^:]*:$id:" /etc/passwd /etc/group; do id=$((id+1)); done\n'
        "cat /etc/passwd > /etc/passwd-\n"
        f'echo "{name}:x:$id:$id::/:/sbin/nologin" >> /etc/passwd\n'
        f'echo "{name}:x:$id:" >> /etc/group\n'
        f'echo "{name}:!!:19999::::::" >> /etc/shadow\n'
    )


def user_pkg(name: str, requires: tuple[str, ...] = ()) -> Pkg:
    data = f"/usr/share/{name}/data"
    return Pkg(
        name,
        requires=["bash", "setup", *requires],
        files={data: f"{name}\n"},
        attrs={data: f"0644,{name},{name}"},
        scripts={"pre": useradd(name)},
    )


def packages() -> list[Pkg]:
    base = [p for p in base_packages() if p.name != "setup"]
    setup = Pkg(
        "setup",
        requires=["filesystem"],
        config=["/etc/passwd", "/etc/group", "/etc/shadow", "/etc/nsswitch.conf"],
        files={
            "/etc/passwd": PASSWD,
            "/etc/group": GROUP,
            "/etc/shadow": SHADOW,
            "/etc/nsswitch.conf": NSSWITCH,
            "/etc/default/useradd": USERADD,
        },
        attrs={"/etc/shadow": "0000,root,root"},
    )
    # beta2 needs a helper: with alpha as the helper, alpha's %pre runs first.
    alpha = user_pkg("alpha")
    alpha.provides = ["beta2-helper"]
    noop = Pkg("noop-helper", provides=["beta2-helper"], files={"/usr/share/noop": "noop\n"})
    users = [alpha, user_pkg("beta"), user_pkg("beta2", ("beta2-helper",)), user_pkg("gamma")]
    return [*base, setup, noop, *users]


@pytest.fixture(scope="module")
def repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("passwd-repo")
    return make_repo(root / "repo", packages(), root / "work")


REF = "test/x86_64/users"


def treefile(config: Path, repo: Path, users: list[str], extra: str = "") -> Path:
    base = ["filesystem", "setup", "bash"]
    text = f"ref: {REF}\nrepos: [test-repo]\npackages: {base + users}\n" + extra
    return write_treefile(config, repo.as_uri(), text)


def committed(tmp_path: Path) -> Path:
    """A checkout of the published tree."""
    dest = tmp_path / "co"
    subprocess.run(["rm", "-rf", str(dest)], check=True)
    subprocess.run(
        ["ostree", f"--repo={tmp_path / 'repo'}", "checkout", REF, str(dest)], check=True
    )
    return dest


def users_of(co: Path) -> dict[str, int]:
    return {e.name: e.uid for e in parse_passwd((co / "usr/lib/passwd").read_text(), "passwd")}


def compose_ok(tf: Path, tmp_path: Path) -> Path:
    r = compose(tf, tmp_path)
    assert r.exit_code == 0, r.stderr
    return committed(tmp_path)


# --- the nss-altfiles split ---------------------------------------------------------------


def test_users_and_groups_but_root_move_to_usr_lib(tmp_path: Path, repo: Path) -> None:
    tf = treefile(tmp_path / "config", repo, ["alpha"], "etc-group-members: [wheel, alpha]\n")
    co = compose_ok(tf, tmp_path)
    etc = co / "usr/etc"
    assert (etc / "passwd").read_text() == "root:x:0:0:root:/root:/bin/sh\n"
    assert (co / "usr/lib/passwd").read_text() == (
        "bin:x:1:1:bin:/bin:/sbin/nologin\nalpha:x:900:900::/:/sbin/nologin\n"
    )
    assert (etc / "group").read_text() == "root:x:0:\nwheel:x:10:root\nalpha:x:900:\n"
    assert (co / "usr/lib/group").read_text() == ("bin:x:1:\nwheel:x:10:root\nalpha:x:900:\n")
    assert (etc / "nsswitch.conf").read_text() == (
        "passwd: files altfiles sss\nshadow:     files\ngroup: files altfiles\nhosts: files dns\n"
    )
    assert (etc / "default/useradd").read_text() == "GROUP=100\nHOME=/var/home\nSHELL=/bin/bash\n"
    # shadow stays in /etc, locked accounts without a last-change date; no backups
    assert (etc / "shadow").read_text() == (
        "root:!::0:99999:7:::\nbin:*::0:99999:7:::\nalpha:!!:::::::\n"
    )
    assert (etc / "shadow").stat().st_mode & 0o777 == 0
    assert not (etc / "passwd-").exists()
    st = (co / "usr/share/alpha/data").stat()
    assert (st.st_uid, st.st_gid) == (900, 900)


# --- check-passwd / check-groups ----------------------------------------------------------


def test_check_passwd_data_passes_and_fails(tmp_path: Path, repo: Path) -> None:
    checks = "check-passwd: {type: data, entries: {bin: 1, alpha: [900, 900]}}\n"
    checks += "check-groups: {type: data, entries: {bin: 1, alpha: 900}}\n"
    tf = treefile(tmp_path / "config", repo, ["alpha"], checks)
    compose_ok(tf, tmp_path)
    tf.write_text(tf.read_text().replace("alpha: [900, 900]", "alpha: [900, 905]"))
    before = refs(tmp_path / "repo")
    r = compose(tf, tmp_path)
    assert error_message(r, 1) == "check-passwd (data): passwd GID changed: alpha (905 to 900)"
    assert refs(tmp_path / "repo") == before  # nothing committed


def test_check_groups_data_fails_on_a_changed_gid(tmp_path: Path, repo: Path) -> None:
    extra = "check-passwd: {type: none}\ncheck-groups: {type: data, entries: {alpha: 901}}\n"
    tf = treefile(tmp_path / "config", repo, ["alpha"], extra)
    r = compose(tf, tmp_path)
    assert error_message(r, 1) == "check-groups (data): group GID changed: alpha (901 to 900)"
    assert refs(tmp_path / "repo") == {}


def write_check_files(config: Path, passwd: str, group: str) -> str:
    config.mkdir(parents=True, exist_ok=True)
    (config / "passwd").write_text(passwd)
    (config / "group").write_text(group)
    return (
        "check-passwd: {type: file, filename: passwd}\n"
        "check-groups: {type: file, filename: group}\n"
    )


def test_check_passwd_file_keeps_its_ids_and_root_must_be_ignored(
    tmp_path: Path, repo: Path
) -> None:
    """The file is what users get before the scriptlets run (preserve-passwd), so alpha
    keeps uid 950; root is in the file but not in /usr/lib/passwd, hence rpm-ostree's
    `ignore-removed-users: [root]` in Fedora's manifests."""
    config = tmp_path / "config"
    checks = write_check_files(
        config,
        PASSWD + "alpha:x:950:950::/:/sbin/nologin\n",
        "root:x:0:\nbin:x:1:\nwheel:x:10:\nalpha:x:950:\n",
    )
    tf = treefile(config, repo, ["alpha"], checks)
    r = compose(tf, tmp_path)
    assert error_message(r, 1) == (
        "check-passwd (file passwd): user missing from the new passwd file: root "
        "(uid 0 still owns /)"
    )
    tf.write_text(tf.read_text() + "ignore-removed-users: [root]\nignore-removed-groups: ['*']\n")
    co = compose_ok(tf, tmp_path)
    assert users_of(co) == {"bin": 1, "alpha": 950}
    assert (co / "usr/etc/shadow").read_text() == (
        "root:*::0:99999:7:::\nbin:*::0:99999:7:::\nalpha:*::0:99999:7:::\n"
    )


def test_check_passwd_file_with_previous_groups_is_refused(tmp_path: Path, repo: Path) -> None:
    config = tmp_path / "config"
    write_check_files(config, PASSWD, GROUP)
    tf = treefile(config, repo, ["alpha"], "check-passwd: {type: file, filename: passwd}\n")
    r = compose(tf, tmp_path)
    assert error_message(r, 2) == (
        f"{tf}: check-passwd is type file and check-groups type previous: with preserve-passwd, "
        "both must be type file or neither"
    )
    assert not (tmp_path / "cache/rpms").exists() or not list((tmp_path / "cache/rpms").iterdir())


def test_check_groups_data_takes_one_gid(tmp_path: Path, repo: Path) -> None:
    extra = "check-groups: {type: data, entries: {alpha: [900, 900]}}\n"
    tf = treefile(tmp_path / "config", repo, ["alpha"], extra)
    r = compose(tf, tmp_path)
    assert (
        error_message(r, 2)
        == f"{tf}: check-groups.entries.alpha: expected a number from 0 to 4294967295, got [900, 900]"
    )


def test_a_bad_check_passwd_file_is_a_config_error(tmp_path: Path, repo: Path) -> None:
    config = tmp_path / "config"
    checks = write_check_files(config, "root:x:0:0\n", GROUP)
    tf = treefile(config, repo, ["alpha"], checks)
    message = error_message(compose(tf, tmp_path), 2)
    assert message.startswith(f"{tf}: check-passwd.filename: ")
    assert message.endswith("passwd: line 1: not a passwd entry: 'root:x:0:0'")


NO_PRESERVE = "preserve-passwd: false\n"


def test_check_previous_fails_when_a_uid_changes(tmp_path: Path, repo: Path) -> None:
    config = tmp_path / "config"
    compose_ok(treefile(config, repo, ["beta2", "noop-helper"], NO_PRESERVE), tmp_path)
    assert users_of(committed(tmp_path)) == {"bin": 1, "beta2": 900}
    before = refs(tmp_path / "repo")
    # without preserve-passwd, alpha's %pre runs first and takes 900
    r = compose(treefile(config, repo, ["alpha", "beta2"], NO_PRESERVE), tmp_path)
    assert error_message(r, 1) == (
        f"check-passwd (previous commit {before[REF][:12]}): passwd UID changed: beta2 (900 to 901)"
    )
    assert refs(tmp_path / "repo") == before


def test_check_previous_fails_when_a_removed_users_uid_owns_files(
    tmp_path: Path, repo: Path
) -> None:
    config = tmp_path / "config"
    compose_ok(treefile(config, repo, ["beta"], NO_PRESERVE), tmp_path)
    before = refs(tmp_path / "repo")
    # gamma takes beta's uid 900: the new tree's files owned by 900 would change owner
    r = compose(treefile(config, repo, ["gamma"], NO_PRESERVE), tmp_path)
    previous = before[REF][:12]
    assert error_message(r, 1) == (
        f"check-passwd (previous commit {previous}): user missing from the new passwd file: "
        "beta (uid 900 still owns /usr/share/gamma/data)"
    )
    assert refs(tmp_path / "repo") == before
    ignore = NO_PRESERVE + "ignore-removed-users: [beta]\nignore-removed-groups: [beta]\n"
    co = compose_ok(treefile(config, repo, ["gamma"], ignore), tmp_path)
    assert users_of(co) == {"bin": 1, "gamma": 900}


def test_ignore_removed_star_ignores_every_removed_entry(tmp_path: Path, repo: Path) -> None:
    config = tmp_path / "config"
    compose_ok(treefile(config, repo, ["beta"], NO_PRESERVE), tmp_path)
    ignore = NO_PRESERVE + "ignore-removed-users: ['*']\nignore-removed-groups: ['*']\n"
    compose_ok(treefile(config, repo, ["gamma"], ignore), tmp_path)


# --- preserve-passwd ----------------------------------------------------------------------


def test_preserve_passwd_keeps_a_uid_across_composes(tmp_path: Path, repo: Path) -> None:
    """The previous commit's users are in /etc/passwd when %pre runs: beta2 keeps 900 and
    alpha, new, takes the next free id; a removed user stays (rpm-ostree documents it)."""
    config = tmp_path / "config"
    compose_ok(treefile(config, repo, ["beta2", "noop-helper"]), tmp_path)
    co = compose_ok(treefile(config, repo, ["alpha", "beta2"]), tmp_path)
    assert users_of(co) == {"bin": 1, "beta2": 900, "alpha": 901}
    assert (co / "usr/etc/passwd").read_text() == "root:x:0:0:root:/root:/bin/sh\n"
    co = compose_ok(treefile(config, repo, ["gamma"]), tmp_path)
    assert users_of(co) == {"bin": 1, "beta2": 900, "alpha": 901, "gamma": 902}


# --- the parser and nsswitch.conf ---------------------------------------------------------


def test_parser_skips_comments_and_nss_compat_lines_and_refuses_bad_ones() -> None:
    text = "# users\n\nroot:x:0:0:root:/root:/bin/sh\n+nis\n-@group\na:x:5:6:g,e:/h:/s:x\n"
    assert [(e.name, e.uid, e.shell) for e in parse_passwd(text, "p")] == [
        ("root", 0, "/bin/sh"),
        ("a", 5, "/s:x"),
    ]
    assert [(g.name, g.members) for g in parse_group("w:x:10:a,b\ne::11:\n", "g")] == [
        ("w", ("a", "b")),
        ("e", ()),
    ]
    with pytest.raises(PasswdFormatError, match=r"^p: line 2: not a passwd entry: 'x:x:-1:0::/:'"):
        parse_passwd("root:x:0:0:root:/root:/bin/sh\nx:x:-1:0::/:\n", "p")
    with pytest.raises(PasswdFormatError, match="line 1: not a group entry"):
        parse_group("wheel:x:10\n", "g")


def test_altfiles_goes_after_files_once() -> None:
    assert with_altfiles("passwd: sss files systemd\n") == "passwd: sss files altfiles systemd\n"
    assert with_altfiles("group: sss\n") == "group: sss altfiles\n"
    done = "passwd: files altfiles\ngroup:  files\n"
    assert with_altfiles(done) == done
    assert (
        with_altfiles("# passwd: files\nnetgroup: files\n") == "# passwd: files\nnetgroup: files\n"
    )
