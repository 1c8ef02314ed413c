"""SELinux labels, as rpm-ostree gives them: with `selinux` (default true) and a policy
in the tree (SELINUXTYPE in its /etc/selinux/config), every committed file and directory
is labeled by the tree's own policy (libostree's SePolicy on the commit modifier). A tree
without a policy is committed unlabeled.

Before that, the policy's file_contexts.subs_dist learns rpm-ostree's layout
(rpm-ostree's postprocess_subs_dist): /home is /var/home, /usr/etc is /etc."""

from __future__ import annotations

from pathlib import Path

from fedostree.engine import ostree as ot
from fedostree.engine.ostree import OSTree
from fedostree.engine.treefs import read_text, real_dir, write_file
from fedostree.errors import FedostreeError
from fedostree.model.treefile import Treefile

SELINUX_DIR = "usr/etc/selinux"
LOCK_FILES = ("semanage.trans.LOCK", "semanage.read.LOCK")
# rpm-ostree marks each of its edits with the pull request that made it.
HOME_PR = "# https://github.com/projectatomic/rpm-ostree/pull/1754"
USR_ETC_PR = "# https://github.com/coreos/rpm-ostree/pull/4640"
ETC_ALIASES_PR = "# https://github.com/coreos/rpm-ostree/pull/5485"
OPT_PR = "# https://github.com/coreos/rpm-ostree/pull/1795"


def labeling_policy(rootfs: Path, tf: Treefile) -> OSTree.SePolicy | None:
    """The policy the commit is labeled with: the tree's own, unless `selinux: false`."""
    if not tf.effective_selinux:
        return None
    try:
        return ot.load_sepolicy(rootfs)
    except FedostreeError as e:
        raise FedostreeError(f"selinux: {e} (selinux: false commits the tree unlabeled)") from e


def adapt_subs_dist(rootfs: Path, tf: Treefile) -> None:
    """rpm-ostree's edits of the policy's path substitutions, when the tree has a policy
    (with `selinux: false` too; a policy that does not load is then left alone)."""
    try:
        policy = labeling_policy(rootfs, tf) if tf.effective_selinux else ot.load_sepolicy(rootfs)
    except FedostreeError:
        if tf.effective_selinux:
            raise
        return
    if policy is None:
        return
    rel = f"{SELINUX_DIR}/{policy.get_name()}/contexts/files/file_contexts.subs_dist"
    text = read_text(rootfs, rel)
    if text is not None:
        write_file(rootfs, rel, subs_dist_contents(text))


def subs_dist_contents(text: str) -> str:
    out, has_usr_etc, etc_aliases = [], False, []
    for line in text.splitlines():
        if line.startswith("/var/home "):
            out += [HOME_PR, "# " + line]
            continue
        has_usr_etc = has_usr_etc or line.startswith("/usr/etc ")
        if line.startswith("/etc/"):
            etc_aliases.append(line)
        out.append(line)
    out += [HOME_PR, "/home /var/home"]
    if not has_usr_etc:
        out += [USR_ETC_PR, "/usr/etc /etc"]
    if etc_aliases:
        out += [ETC_ALIASES_PR, *(f"/usr{line}" for line in etc_aliases)]
    out += [OPT_PR, "/usr/lib/opt /opt"]
    return "".join(f"{line}\n" for line in out)


def remove_lock_files(rootfs: Path) -> None:
    """semanage's lock files, left by a script that ran it."""
    top = real_dir(rootfs, SELINUX_DIR)
    if not top.is_dir():
        return
    for policy in top.iterdir():
        for name in LOCK_FILES:
            lock = policy / name
            if policy.is_dir() and not policy.is_symlink() and lock.is_file():
                lock.unlink()
