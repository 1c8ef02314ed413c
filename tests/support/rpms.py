"""Real RPM fixtures: build throwaway packages with rpmbuild and repositories with
createrepo_c, the way rpm-ostree's tests/common/libtest.sh `build_rpm` does."""

from __future__ import annotations

import hashlib
import http.server
import shutil
import subprocess
import textwrap
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

BUSYBOX = Path("/bin/busybox")
SOURCE_DATE_EPOCH = "1700000000"


@dataclass
class Pkg:
    """One package to build. files maps an absolute path to its content (str), or to
    ("symlink", target), ("dir",), ("copy", host path), ("hardlink", earlier path in
    files), and attrs maps a path to an rpm %attr() string."""

    name: str
    version: str = "1.0"
    release: str = "1"
    requires: Sequence[str] = ()
    provides: Sequence[str] = ()
    recommends: Sequence[str] = ()
    supplements: Sequence[str] = ()
    conflicts: Sequence[str] = ()
    epoch: int | None = None
    files: Mapping[str, object] = field(default_factory=dict)
    attrs: Mapping[str, str] = field(default_factory=dict)
    config: Sequence[str] = ()
    flags: Mapping[str, str] = field(default_factory=dict)  # path -> "%doc", "%lang(fr)", ...
    scripts: Mapping[str, str] = field(default_factory=dict)  # "pre" -> body, or "post -p <lua>"
    arch: str = "x86_64"


def base_packages() -> list[Pkg]:
    """A minimal working OS: filesystem, setup (passwd), and a busybox shell."""
    return [
        Pkg(
            "filesystem",
            requires=["setup"],  # as Fedora's: every tree has /etc/passwd
            files={
                "/bin": ("symlink", "usr/bin"),
                "/sbin": ("symlink", "usr/sbin"),
                "/usr/bin": ("dir",),
                "/usr/sbin": ("dir",),
                "/etc": ("dir",),
                "/usr/lib/modules": ("dir",),
                "/var/lib": ("dir",),
                # Every OS tree needs one (the build server checks, libostree deploys by it).
                "/usr/lib/os-release": "NAME=Fedora\nID=fedora\nVERSION_ID=20\n",
            },
        ),
        Pkg(
            "setup",
            requires=["filesystem"],
            config=["/etc/passwd", "/etc/group"],
            files={"/etc/passwd": "root:x:0:0:root:/root:/bin/sh\n", "/etc/group": "root:x:0:\n"},
        ),
        Pkg(
            "bash",
            requires=["filesystem"],
            provides=["/bin/sh"],
            files={
                "/usr/sbin/busybox": ("copy", str(BUSYBOX)),
                **{
                    f"/usr/bin/{a}": ("symlink", "../sbin/busybox")
                    for a in ("sh", "cat", "echo", "grep", "ls", "mkdir", "sed", "touch")
                },
            },
        ),
    ]


def render_spec(pkg: Pkg) -> str:
    lines = [
        f"Name: {pkg.name}",
        f"Version: {pkg.version}",
        f"Release: {pkg.release}",
        *([f"Epoch: {pkg.epoch}"] if pkg.epoch is not None else []),
        "Summary: test package",
        "License: MIT",
        *([f"BuildArch: {pkg.arch}"] if pkg.arch in ("x86_64", "noarch") else []),
        "AutoReqProv: no",
        *[f"Requires: {r}" for r in pkg.requires],
        *[f"Provides: {p}" for p in pkg.provides],
        *[f"Recommends: {r}" for r in pkg.recommends],
        *[f"Supplements: {s}" for s in pkg.supplements],
        *[f"Conflicts: {c}" for c in pkg.conflicts],
        "%description",
        "test package",
        "%install",
    ]
    for path, spec in pkg.files.items():
        dest = f"%{{buildroot}}{path}"
        lines.append(f"mkdir -p $(dirname {dest})")
        if isinstance(spec, str):
            lines.append(f"cat > {dest} <<'FEDOSTREE_EOF'\n{spec}FEDOSTREE_EOF")
        elif spec[0] == "symlink":
            lines.append(f"ln -s '{spec[1]}' {dest}")
        elif spec[0] == "dir":
            lines.append(f"mkdir -p {dest}")
        elif spec[0] == "copy":
            lines.append(f"cp {spec[1]} {dest}")
        elif spec[0] == "hardlink":
            lines.append(f"ln %{{buildroot}}{spec[1]} {dest}")
    for script, body in pkg.scripts.items():
        lines.append(f"%{script}")
        lines.append(body)
    lines.append("%files")
    for path, spec in pkg.files.items():
        prefix = f"%attr({pkg.attrs[path]}) " if path in pkg.attrs else ""
        kind = "%config(noreplace) " if path in pkg.config else ""
        is_dir = not isinstance(spec, str) and spec[0] == "dir"
        flag = f"{pkg.flags[path]} " if path in pkg.flags else ""
        lines.append(f"{prefix}{kind}{flag}{'%dir ' if is_dir else ''}{path}")
    return "\n".join(lines) + "\n"


def build_rpms(
    pkgs: Sequence[Pkg],
    outdir: Path,
    workdir: Path,
    payload: str = "w2.gzdio",
    *,
    source_date_epoch: str = SOURCE_DATE_EPOCH,
) -> list[Path]:
    """Build each package; payload is rpm's `_binary_payload` (w.ufdio: uncompressed);
    source_date_epoch is the packages' build time."""
    outdir.mkdir(parents=True, exist_ok=True)
    out = []
    for pkg in pkgs:
        top = workdir / f"rpmbuild-{pkg.name}"
        spec = top / f"{pkg.name}.spec"
        spec.parent.mkdir(parents=True, exist_ok=True)
        spec.write_text(render_spec(pkg))
        subprocess.run(
            [
                "rpmbuild",
                "-bb",
                "--nodeps",
                "--quiet",
                "--define",
                f"_topdir {top}",
                "--define",
                "debug_package %{nil}",
                "--define",
                "__os_install_post %{nil}",
                "--define",
                "_build_id_links none",
                "--define",
                "_buildhost fedostree-test",
                "--define",
                "use_source_date_epoch_as_buildtime 1",
                "--define",
                f"_binary_payload {payload}",
                # another architecture (BuildArch would refuse it): packaged for it
                *([] if pkg.arch in ("x86_64", "noarch") else ["--target", pkg.arch]),
                str(spec),
            ],
            check=True,
            capture_output=True,
            env={"PATH": "/usr/bin:/bin", "SOURCE_DATE_EPOCH": source_date_epoch},
        )
        for rpm in (top / "RPMS").rglob("*.rpm"):
            dest = outdir / rpm.name
            shutil.move(rpm, dest)
            out.append(dest)
    return out


def comps_xml(groups: Mapping[str, Sequence[str]]) -> str:
    body = "".join(
        f"<group><id>{gid}</id><name>{gid}</name><description>{gid}</description><packagelist>"
        + "".join(f'<packagereq type="mandatory">{m}</packagereq>' for m in members)
        + "</packagelist></group>"
        for gid, members in groups.items()
    )
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<comps>{body}</comps>\n'


def make_repo(
    repodir: Path,
    pkgs: Sequence[Pkg],
    workdir: Path,
    groups: Mapping[str, Sequence[str]] | None = None,
) -> Path:
    """A real rpm-md repository (with comps) holding the built packages."""
    build_rpms(pkgs, repodir, workdir)
    createrepo(repodir, groups)
    return repodir


def createrepo(repodir: Path, groups: Mapping[str, Sequence[str]] | None = None) -> None:
    cmd = ["createrepo_c", "-q", "--no-database"]
    if groups:
        comps = repodir.parent / f"{repodir.name}-comps.xml"
        comps.write_text(comps_xml(groups))
        cmd += ["--groupfile", str(comps)]
    subprocess.run([*cmd, str(repodir)], check=True, capture_output=True)


def write_treefile(directory: Path, repo_url: str, text: str, repo_id: str = "test-repo") -> Path:
    """A treefile.yaml with a .repo file beside it, as `compose tree` expects."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{repo_id}.repo").write_text(
        f"[{repo_id}]\nname=test\nbaseurl={repo_url}\ngpgcheck=0\n"
    )
    path = directory / "treefile.yaml"
    path.write_text(textwrap.dedent(text))
    return path


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def http_server() -> Iterator[Callable[[Path], str]]:
    """Serve a directory over HTTP on 127.0.0.1; returns a function dir -> base URL."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(directory: Path) -> str:
        handler = lambda *a, **kw: _QuietHandler(*a, directory=str(directory), **kw)  # noqa: E731
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield serve
    for s in servers:
        s.shutdown()
        s.server_close()


@pytest.fixture(scope="session")
def base_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small OS: base packages, a library with an ldconfig-style %post, a user made
    in %pre owning files, /etc and /var content, and a kernel."""
    root = tmp_path_factory.mktemp("base-repo")
    pkgs = [*base_packages(), *demo_packages()]
    return make_repo(root / "repo", pkgs, root / "work", groups={"core": ["hello", "kernel"]})


def demo_packages() -> list[Pkg]:
    return [
        Pkg(
            "hello",
            version="2.10",
            requires=["bash", "setup", "libhello"],
            files={
                "/usr/bin/hello": "#!/bin/sh\necho hello\n",
                "/etc/hello.conf": "greeting=hi\n",
                "/var/lib/hello": ("dir",),
                "/var/lib/hello/state": "fresh\n",
                "/usr/libexec/hello-helper": "helper\n",
            },
            attrs={
                "/usr/bin/hello": "0755,root,root",
                "/usr/libexec/hello-helper": "4750,root,hello",
                "/var/lib/hello": "0750,hello,hello",
            },
            config=["/etc/hello.conf"],
            scripts={
                "pre": "grep -q '^hello:' /etc/passwd || echo 'hello:x:990:990::/:/sbin/nologin' >> /etc/passwd\n"
                "grep -q '^hello:' /etc/group || echo 'hello:x:990:' >> /etc/group",
                "post": 'echo "post $1" > /etc/hello.post-ran',
                "posttrans": "touch /etc/hello.posttrans-ran",
            },
        ),
        Pkg(
            "libhello",
            version="1.2",
            requires=["filesystem"],
            provides=["libhello.so.1()(64bit)"],
            files={"/usr/lib64/libhello.so.1": "not really ELF\n"},
            scripts={"post": "echo libhello >> /etc/ld-ran"},
        ),
        Pkg(
            "kernel",
            version="5.14.0",
            release="1.fc20",
            requires=["filesystem"],
            files={
                "/boot/vmlinuz-5.14.0-1.fc20.x86_64": "vmlinuz\n",
                "/boot/initramfs-5.14.0-1.fc20.x86_64.img": "initramfs\n",
                "/usr/lib/modules/5.14.0-1.fc20.x86_64/modules.dep": "\n",
            },
        ),
    ]
