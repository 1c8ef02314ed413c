# fedostree: `make demo` and `make test` are the whole set-up; both call `make setup`.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The Debian packages of every library and program the code, the tests, the demo and the
# bench use (found with `dpkg -S`); essential packages (coreutils: cp, du; libc-bin:
# ldconfig; dash: sh) are on every Debian system and not listed.
APT_LIBRARIES := gir1.2-ostree-1.0 python3-gi python3-solv python3-rpm python3-libcomps \
	python3-librepo python3-venv
# ostree: ostree, rofiles-fuse; rpm: rpm, rpmbuild; rpm2cpio and cpio: unpacking RPMs in
# tests; createrepo-c: createrepo_c; bubblewrap: bwrap; busybox-static: /bin/busybox, the
# sample trees' shell; gcc, libc6-dev, binutils: compiled test fixtures and readelf;
# gnupg: gpg, gpgconf; chromium: the status page's rendering test; procps: ps;
# e2fsprogs: chattr; mount: umount; dnf: the bench's traditional path (and its test);
# debootstrap: .ci/fresh-debian.sh, the fresh-machine check; findutils (find, which
# engine/tree_delta.py runs) is essential. Booting trees (server/boot, issue 12):
# qemu-system-x86: qemu-system-x86_64; ostree-boot: the real ostree-prepare-root the
# initramfs runs; e2fsprogs also gives mkfs.ext4 and debugfs (the disk images);
# linux-image-amd64: the kernel image and modules that the sample `kernel` package wraps;
# kmod: modprobe, which lists those modules.
APT_PROGRAMS := ostree rpm rpm2cpio cpio createrepo-c bubblewrap busybox-static gcc libc6-dev \
	binutils gnupg chromium procps e2fsprogs mount dnf debootstrap qemu-system-x86 ostree-boot \
	linux-image-amd64 kmod
APT_PACKAGES := $(APT_LIBRARIES) $(APT_PROGRAMS)
DEMO := demo

.PHONY: setup apt venv demo test lint typecheck clean

setup: apt venv

# Install only what is missing, so that a second run is a no-op.
apt:
	@missing=$$(for p in $(APT_PACKAGES); do \
		dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing: $$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	/usr/bin/python3 -m venv --system-site-packages $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

demo: setup
	$(PY) -m fedostree.demo $(DEMO)

lint: setup
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

typecheck: setup
	$(VENV)/bin/mypy

test: setup lint typecheck
	$(VENV)/bin/pytest -q

# libostree marks deployment roots immutable: lift that before removing the demo sysroot.
clean:
	-chattr -R -i $(DEMO) 2>/dev/null
	rm -rf $(VENV) $(DEMO)

# The benchmark (bench/README.md). Full: the synthesized CentOS Stream 9 universe at real
# size, three runs, on disk. Small (under 5 minutes): scale 0.02, one run, three of the
# six trees, in /dev/shm; its timings leave out disk costs, so compare ratios with care.
.PHONY: bench bench-small bench-boot
bench: setup
	$(PY) -m fedostree.bench --scale 1.0 --runs 3 --out bench/results.json --workdir bench/work

bench-small: setup
	$(PY) -m fedostree.bench --scale 0.02 --runs 1 --reps 1 --trees minimal server workstation-dev \
		--workdir /dev/shm/fedostree-bench --out bench/results.json

# What the boot check adds to a cold compose of the six sample trees (bench/README.md).
bench-boot: setup
	$(PY) -m fedostree.bench.boot_cost --runs 3 --out bench/boot-cost.json
