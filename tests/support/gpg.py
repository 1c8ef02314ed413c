"""Throwaway GPG keys for signing tests: a fresh GnuPG home with one ed25519 signing key."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class GpgKey:
    homedir: Path
    key_id: str  # the fingerprint
    public: Path  # the armored public key, as a client imports it


def make_gpg_key(where: Path, name: str = "fedostree test") -> GpgKey:
    home = where / "gnupg"
    home.mkdir(mode=0o700, parents=True)
    gpg = ["gpg", "--homedir", str(home), "--batch", "--passphrase", ""]
    uid = f"{name} <{name.replace(' ', '-')}@example.invalid>"
    subprocess.run([*gpg, "--quick-gen-key", uid, "ed25519", "sign", "never"],
                   check=True, capture_output=True)  # fmt: skip
    listing = subprocess.run([*gpg, "--list-keys", "--with-colons"],
                             check=True, capture_output=True, text=True).stdout  # fmt: skip
    fingerprint = next(
        line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr")
    )
    public = where / "key.asc"
    exported = subprocess.run([*gpg, "--armor", "--export", fingerprint],
                              check=True, capture_output=True).stdout  # fmt: skip
    public.write_bytes(exported)
    return GpgKey(home, fingerprint, public)
