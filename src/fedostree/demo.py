"""`make demo`: build the sample package universe, compose, test and sign the fedostree
trees into one OSTree repository (a seventh, deliberately broken tree fails its tests and
stays unpublished), show what was built, then play a client against `fedostree serve`
while the autobuilder publishes package updates."""

from __future__ import annotations

import contextlib
import importlib.resources
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fedostree.engine import ostree as ot
from fedostree.engine.commit import PKGLIST_KEY
from fedostree.sample.universe import is_current
from fedostree.server.candidates import candidate_commit, published_refs
from fedostree.server.results import load_results

console = Console(width=None if sys.stdout.isatty() else 120)
SAMPLE_REPO_ID = "fedostree-sample"
PREFIX = "fedostree/20/x86_64/"
BROKEN = PREFIX + "experimental/broken-app"
UNBOOTABLE = PREFIX + "experimental/broken-boot"
SERVE_PORT = 8080  # the sample trees' fedostree-sample.repo names it (sample/catalog.py)


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def fedostree(*args: str | Path, expect: tuple[int, ...] = (0,)) -> float:
    """Run the real command line, showing it; return the seconds it took."""
    argv = [str(a) for a in args]
    console.print(f"$ fedostree {shlex.join(argv)}", style="cyan")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "fedostree", *argv])
    if result.returncode not in expect:
        sys.exit(result.returncode)
    if result.returncode != 0:
        console.print(f"(exit {result.returncode}, as expected: {BROKEN} and {UNBOOTABLE} "
                      "fail their tests)")  # fmt: skip
    return time.monotonic() - start


def ensure_signing_key(home: Path) -> tuple[str, Path]:
    """A throwaway GPG signing key for the demo (created once): its id and public key."""
    public = home / "demo-key.asc"
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    if not public.exists():
        home.mkdir(mode=0o700, parents=True, exist_ok=True)
        uid = "fedostree demo <demo@fedostree.invalid>"
        subprocess.run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"],
                       check=True, capture_output=True)  # fmt: skip
        public.write_bytes(subprocess.run([*gpg, "--armor", "--export"],
                                          check=True, capture_output=True).stdout)  # fmt: skip
    listing = subprocess.run([*gpg, "--list-keys", "--with-colons"],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    key_id = next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr"))
    return key_id, public


def ensure_sample_repo(dest: Path) -> None:
    """Build the sample universe once (again when the generator changed); it is
    deterministic, so a rebuild changes nothing."""
    if is_current(dest):
        console.print(f"sample repository already built in {dest}")
        return
    fedostree("sample-repo", dest)


def write_config(config: Path, sample: Path) -> Path:
    """The products matrix, with a .repo file beside it pointing at the sample repository."""
    config.mkdir(parents=True, exist_ok=True)
    products = importlib.resources.files("fedostree.sample").joinpath("products.json").read_text()
    (config / "products.json").write_text(products)
    repo_file = f"[{SAMPLE_REPO_ID}]\nname=fedostree sample universe\nbaseurl={sample.absolute().as_uri()}\ngpgcheck=0\n"
    (config / f"{SAMPLE_REPO_ID}.repo").write_text(repo_file)
    return config / "products.json"


def show_trees(repo_path: Path) -> None:
    repo = ot.open_repo(repo_path)
    refs = published_refs(repo)
    table = Table(title=f"Published trees in {repo_path}")
    for column in ("ref", "version", "packages", "files", "size"):
        table.add_column(column, justify="left" if column == "ref" else "right")
    total = 0
    for ref in sorted(refs):
        commit = refs[ref]
        md = ot.commit_metadata(repo, commit)
        files, size = ot.tree_size(repo, commit)
        total += size
        table.add_row(
            ref, md.get("version", "-"), str(len(md.get(PKGLIST_KEY, []))), str(files), _mib(size)
        )
    console.print(table)
    stored = _disk_usage(repo_path / "objects")
    console.print(
        f"{len(refs)} separate trees would take {_mib(total)}; the shared repository stores them in "
        f"{_mib(stored)} (compressed, each identical file once): {100 * (1 - stored / total):.0f}% saved."
    )


def show_boots(repo_path: Path) -> None:
    """Every published tree's `boot` check: its boot time (QEMU's start to its power-off)
    and the marker its init printed."""
    repo = ot.open_repo(repo_path)
    table = Table(title="Every published tree, booted in QEMU before it was published "
                  "(hashes shortened)")  # fmt: skip
    for column in ("tree", "boot time", "the marker its init printed on the serial console"):
        table.add_column(column)
    for ref, commit in sorted(published_refs(repo).items()):
        results = load_results(repo_path, commit)
        boots = [c for c in results.checks if c.name == "boot"] if results else []
        if not boots:
            table.add_row(ref.removeprefix(PREFIX), "-", "(no boot check)")
            continue
        booted, _, marker = boots[0].summary.partition(": ")  # "booted in 7.2 s", the marker
        marker = re.sub(r"([0-9a-f]{10})[0-9a-f]{54}", r"\1…", marker)
        table.add_row(ref.removeprefix(PREFIX), booted.removeprefix("booted in "), marker)
    console.print(table)


def show_failures(repo_path: Path, ref: str) -> None:
    """The logs of the checks the newest candidate of ref failed."""
    commit = candidate_commit(ot.open_repo(repo_path), ref)
    results = load_results(repo_path, commit) if commit else None
    for check in results.checks if results else ():
        if check.outcome != "passed":
            console.print(f"[bold]{check.name}.log:[/bold]\n{check.log.rstrip()}")


def show_boot_failure(repo_path: Path, ref: str) -> None:
    """The verdict and the serial console's last lines of a tree that failed `boot`."""
    commit = candidate_commit(ot.open_repo(repo_path), ref)
    results = load_results(repo_path, commit) if commit else None
    for check in results.checks if results else ():
        if check.name == "boot":
            verdict = check.log.split("\nboot entry:", 1)[0].rstrip()
            console.print(
                f"[bold]boot.log[/bold] (the start; the whole console follows it):\n{verdict}"
            )


def _disk_usage(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def current_version(sample: Path, name: str) -> str:
    return max(
        p.name[len(name) + 1 :].split("-")[0]
        for p in (sample / "Packages").glob(f"{name}-[0-9]*.rpm")
    )


def next_version(sample: Path, name: str) -> str:
    """A version of name newer than the one the sample repository has, every run."""
    current = current_version(sample, name)
    parts = current.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)]) if len(parts) > 3 else f"{current}.1"


def reset_sysroot(path: Path) -> None:
    """Remove an earlier run's sysroot; libostree marks deployment roots immutable."""
    if path.exists():
        subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True)
        shutil.rmtree(path)


@contextlib.contextmanager
def serving(repo: Path, rpm_repo: Path) -> Iterator[str]:
    """`fedostree serve` on 127.0.0.1:8080, the sample rpm-md repository under /rpms/
    (where the trees' fedostree-sample.repo points), stopped at the end."""
    argv = [sys.executable, "-u", "-m", "fedostree", "serve", "--repo", str(repo),
            "--port", str(SERVE_PORT), "--rpm-repo", str(rpm_repo)]  # fmt: skip
    console.print(f"$ fedostree {shlex.join(argv[4:])} &", style="cyan")
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        if " on " not in line:  # it could not listen: its message is on stderr
            sys.exit(server.wait() or 1)
        console.print(line.rstrip())
        console.print(server.stdout.readline().rstrip(), style="bold")  # the status page
        console.print(server.stdout.readline().rstrip())  # the rpm-md repository
        yield line.split(" on ")[1].strip()
    finally:
        server.terminate()
        server.wait()
        console.print("server stopped")


def client_story(demo: Path, autobuild: tuple[str | Path, ...], public_key: Path) -> None:
    sysroot = demo / "sysroot"
    root = ("--sysroot", sysroot)
    sample = demo / "sample-repo"
    reset_sysroot(sysroot)
    with serving(demo / "repo", sample) as url:
        step("5. A client machine: a fresh sysroot that deploys base/minimal from the server")
        fedostree("admin", "init", *root, "--os", "fedostree")
        fedostree("remote", "add", *root, "--gpg-import", public_key, "demo", url)
        fedostree("rebase", *root, f"demo:{PREFIX}base/minimal")
        fedostree("status", *root)
        step(
            "6. Layer sample-editor: its missing dependencies come along, and the tree's "
            "ldconfig, icon-cache and schema triggers run for its files"
        )
        fedostree("install", *root, "sample-editor")
        fedostree("status", *root)
        step(
            "7. A newer bash in the sample repository: the autobuilder recomposes and "
            "publishes; the upgrade keeps the layer"
        )
        bash = next_version(sample, "bash")
        fedostree("sample-repo", sample, "--version", f"bash={bash}")
        fedostree(*autobuild, expect=(0, 1))
        fedostree("upgrade", *root, "--preview")
        fedostree("upgrade", *root)
        fedostree("status", *root)
        step("8. Uninstall the layered package, then roll back to the upgrade that had it")
        fedostree("uninstall", *root, "sample-editor")
        fedostree("status", *root)
        fedostree("rollback", *root)
        fedostree("status", *root)
        step("9. A newer docker-io: only the tree that contains it is recomposed")
        docker = next_version(sample, "docker-io")
        fedostree("sample-repo", sample, "--version", f"bash={bash}", "--version",
                  f"docker-io={docker}")  # fmt: skip
        fedostree(*autobuild, expect=(0, 1))
        step("10. Rebase to server/docker-io (the layer comes along), then roll back")
        fedostree("rebase", *root, f"{PREFIX}server/docker-io")
        fedostree("status", *root)
        fedostree("rollback", *root)
        fedostree("status", *root)
        local_story(demo, autobuild, root)
        console.print(f"The status page while it ran: {url}status/", style="bold")


LOCAL_TREE = "base/minimal"


def local_story(demo: Path, autobuild: tuple[str | Path, ...], root: tuple[str, Path]) -> None:
    """The client assembles base/minimal itself, from the server's treefile and its own
    repositories, gets the server's tree bit for bit, and rebuilds incrementally."""
    step(
        f"11. Local package assembly: the client builds {LOCAL_TREE} from its treefile, "
        "with its own repositories and package cache"
    )
    treefile = write_local_treefile(demo / "config", LOCAL_TREE)
    fedostree("rebase", *root, "--local", treefile)
    fedostree("status", *root)
    compare_with_server(demo, root[1], PREFIX + LOCAL_TREE)
    step("12. A newer bash: the server and the client both rebuild only what changed")
    sample = demo / "sample-repo"
    versions = [f"{name}={current_version(sample, name)}" for name in ("docker-io",)]
    bash = next_version(sample, "bash")
    fedostree("sample-repo", sample, "--version", f"bash={bash}",
              *[a for v in versions for a in ("--version", v)])  # fmt: skip
    fedostree(*autobuild, expect=(0, 1))
    fedostree("upgrade", *root)
    fedostree("status", *root)
    compare_with_server(demo, root[1], PREFIX + LOCAL_TREE)
    step(
        "13. Verify the server: it rebuilds a published commit from what the commit records; "
        "the client rebuilds server/docker-io and deploys it only because the trees agree"
    )
    cache = ("--cachedir", demo / "cache")
    fedostree("compose", "verify", PREFIX + LOCAL_TREE, "--repo", demo / "repo", *cache)
    fedostree("rebase", *root, "--local", "--verify", f"demo:{PREFIX}server/docker-io")
    fedostree("status", *root)


def boot_story(demo: Path) -> None:
    """rpm-ostree's upgrade-rollback test with real boots, on the published base/minimal."""
    step(
        "14. Upgrade and rollback, proven by booting: the previous base/minimal boots, the "
        "client upgrades it (an /etc change made before is kept), it boots, the client "
        "rolls back, it boots"
    )
    workdir = demo / "boot-test"
    fedostree("compose", "boot-test", PREFIX + LOCAL_TREE, "--repo", demo / "repo",
              "--workdir", workdir)  # fmt: skip
    console.print("The stock ostree on the proof's sysroot (read back from its disk image):")
    subprocess.run(["ostree", "admin", "status", f"--sysroot={workdir / 'sysroot'}"], check=False)


def write_local_treefile(config: Path, tree: str) -> Path:
    """The tree's treefile, as `compose products --only TREE --print-only` prints it."""
    argv = ["compose", "products", str(config / "products.json"), "--only", tree, "--print-only"]
    path = config / f"{tree.replace('/', '-')}.json"
    console.print(f"$ fedostree {shlex.join(argv)} > {path}", style="cyan")
    out = subprocess.run([sys.executable, "-m", "fedostree", *argv], check=True,
                         capture_output=True, text=True).stdout  # fmt: skip
    path.write_text(out)
    return path


def compare_with_server(demo: Path, sysroot: Path, ref: str) -> None:
    """The local build's root dirtree and dirmeta against the server's published tree."""
    from fedostree.client.layering import base_of
    from fedostree.client.sysroot import Sysroot

    client = Sysroot(sysroot)
    local = base_of(client.repo, client.default().get_csum())
    server_repo = ot.open_repo(demo / "repo")
    published = published_refs(server_repo)[ref]
    ours, theirs = ot.root_checksums(client.repo, local), ot.root_checksums(server_repo, published)
    table = Table(title="The client's tree and the server's")
    for column in ("", "commit", "root dirtree", "root dirmeta"):
        table.add_column(column)
    table.add_row("client (local build)", local[:12], ours[0][:16], ours[1][:16])
    table.add_row("server (published)", published[:12], theirs[0][:16], theirs[1][:16])
    console.print(table)
    if ours != theirs:
        console.print("[bold red]the trees differ[/bold red]")
        sys.exit(1)
    console.print("identical trees: the client rebuilt the server's tree bit for bit")


def main() -> None:
    demo = Path(sys.argv[1] if len(sys.argv) > 1 else "demo")
    step("1. The sample package universe (rpmbuild + createrepo_c, Fedora 20 comps)")
    ensure_sample_repo(demo / "sample-repo")
    products = write_config(demo / "config", demo / "sample-repo")
    key_id, public_key = ensure_signing_key(demo / "gnupg")
    publishing = ("--repo", demo / "repo", "--cachedir", demo / "cache",
                  "--gpg-sign", key_id, "--gpg-homedir", demo / "gnupg")  # fmt: skip
    step("2. Compose, test and sign the trees; the broken one stays unpublished")
    compose = ("compose", "products", products, *publishing)
    first = fedostree(*compose, expect=(0, 1))
    fedostree("compose", "results", BROKEN, "--repo", demo / "repo", expect=(0, 1))
    show_failures(demo / "repo", BROKEN)
    fedostree("compose", "results", UNBOOTABLE, "--repo", demo / "repo", expect=(0, 1))
    show_boot_failure(demo / "repo", UNBOOTABLE)
    step("3. What was published")
    show_trees(demo / "repo")
    show_boots(demo / "repo")
    step("4. Compose again: nothing changed, so nothing is downloaded or committed")
    second = fedostree(*compose, expect=(0, 1))
    console.print(f"compose took {first:.1f}s; the no-op recompose took {second:.1f}s")
    autobuild = ("autobuild", products, *publishing, "--once")
    client_story(demo, autobuild, public_key)
    boot_story(demo)
    console.print(
        f"Inspect it: ostree --repo={demo / 'repo'} refs; ostree admin status --sysroot={demo / 'sysroot'}; "
        f"fedostree serve --repo {demo / 'repo'} --rpm-repo {demo / 'sample-repo'} and open "
        "http://127.0.0.1:8080/status/"
    )


if __name__ == "__main__":
    main()
