"""`make demo`: build the sample package universe, compose the six fedostree trees into
one OSTree repository, and show what was built. Run it again: all six are unchanged."""

from __future__ import annotations

import contextlib
import importlib.resources
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console
from rich.table import Table

from fedostree.compose.commit import PKGLIST_KEY
from fedostree.core import ostree as ot

console = Console(width=None if sys.stdout.isatty() else 120)
SAMPLE_REPO_ID = "fedostree-sample"


def step(title: str) -> None:
    console.rule(f"[bold]{title}")


def fedostree(*args: str | Path) -> float:
    """Run the real command line, showing it; return the seconds it took."""
    argv = [str(a) for a in args]
    console.print(f"$ fedostree {shlex.join(argv)}", style="cyan")
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "fedostree", *argv])
    if result.returncode != 0:
        sys.exit(result.returncode)
    return time.monotonic() - start


def ensure_sample_repo(dest: Path) -> None:
    """Build the sample universe once; it is deterministic, so a rebuild changes nothing."""
    if (dest / "repodata" / "repomd.xml").exists():
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
    _, refs = repo.list_refs(None, None)
    table = Table(title=f"Trees in {repo_path}")
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
        f"Six separate trees would take {_mib(total)}; the shared repository stores them in "
        f"{_mib(stored)} (compressed, each identical file once): {100 * (1 - stored / total):.0f}% saved."
    )


def _disk_usage(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def _mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def next_version(sample: Path, name: str) -> str:
    """A version of name newer than the one the sample repository has, every run."""
    current = max(
        p.name[len(name) + 1 :].split("-")[0]
        for p in (sample / "Packages").glob(f"{name}-[0-9]*.rpm")
    )
    parts = current.split(".")
    return ".".join([*parts[:-1], str(int(parts[-1]) + 1)]) if len(parts) > 3 else f"{current}.1"


def reset_sysroot(path: Path) -> None:
    """Remove an earlier run's sysroot; libostree marks deployment roots immutable."""
    if path.exists():
        subprocess.run(["chattr", "-R", "-i", str(path)], capture_output=True)
        shutil.rmtree(path)


@contextlib.contextmanager
def serving(repo: Path) -> Iterator[str]:
    """`fedostree serve` on a free port of 127.0.0.1, stopped at the end."""
    argv = [sys.executable, "-u", "-m", "fedostree", "serve", "--repo", str(repo), "--port", "0"]
    console.print(f"$ fedostree {shlex.join(argv[4:])} &", style="cyan")
    server = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        console.print(line.rstrip())
        yield line.split(" on ")[1].strip()
    finally:
        server.terminate()
        server.wait()
        console.print("server stopped")


def client_story(demo: Path, compose: tuple[str | Path, ...]) -> None:
    sysroot = demo / "sysroot"
    root = ("--sysroot", sysroot)
    reset_sysroot(sysroot)
    with serving(demo / "repo") as url:
        step("5. A client machine: a fresh sysroot that deploys base/minimal from the server")
        fedostree("admin", "init", *root, "--os", "fedostree")
        fedostree("remote", "add", *root, "--no-gpg-verify", "demo", url)
        fedostree("rebase", *root, "demo:fedostree/20/x86_64/base/minimal")
        fedostree("status", *root)
        step("6. Publish a newer bash in the sample repository, recompose, and upgrade")
        fedostree(
            "sample-repo",
            demo / "sample-repo",
            "--version",
            f"bash={next_version(demo / 'sample-repo', 'bash')}",
        )
        fedostree(*compose)
        fedostree("upgrade", *root, "--preview")
        fedostree("upgrade", *root)
        fedostree("status", *root)
        step("7. Rebase to server/docker-io, then roll back")
        fedostree("rebase", *root, "fedostree/20/x86_64/server/docker-io")
        fedostree("status", *root)
        fedostree("rollback", *root)
        fedostree("status", *root)


def main() -> None:
    demo = Path(sys.argv[1] if len(sys.argv) > 1 else "demo")
    step("1. The sample package universe (rpmbuild + createrepo_c, Fedora 20 comps)")
    ensure_sample_repo(demo / "sample-repo")
    products = write_config(demo / "config", demo / "sample-repo")
    step("2. Compose the six trees into one OSTree repository")
    compose = (
        "compose",
        "products",
        products,
        "--repo",
        demo / "repo",
        "--cachedir",
        demo / "cache",
    )
    first = fedostree(*compose)
    step("3. What was built")
    show_trees(demo / "repo")
    step("4. Compose again: nothing changed, so nothing is downloaded or committed")
    second = fedostree(*compose)
    console.print(f"compose took {first:.1f}s; the no-op recompose took {second:.1f}s")
    client_story(demo, compose)
    console.print(
        f"Inspect it: ostree --repo={demo / 'repo'} refs; ostree admin status --sysroot={demo / 'sysroot'}"
    )


if __name__ == "__main__":
    main()
