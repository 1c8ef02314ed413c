"""Stand-ins for what boots and guards the tree: the kernel (in /usr/lib/modules, as
Fedora ships it), dracut, the EFI and BIOS bootloader files, bootupd, SELinux's policy
store, and iptables with its alternatives."""

from __future__ import annotations

from fedostree.sample.plan import Scriptlet
from fedostree.sample.shapes import FileSpec, directory, symlink, text_file
from tests.support import standins_scripts as scripts
from tests.support.standins import Content
from tests.support.standins_os import Context, Special, command, script, unit


def kernel(ctx: Context) -> Content:
    evr = ctx.evra.evr
    return Content(
        requires=tuple(
            f"{sub} = {evr}" for sub in ("kernel-core", "kernel-modules", "kernel-modules-core")
        )
    )


def kernel_core(ctx: Context) -> Content:
    """Fedora's kernel-core ships the kernel in /usr/lib/modules; the initramfs stands in
    for the one rpm-ostree has dracut generate."""
    moddir = f"/usr/lib/modules/{ctx.kver}"
    return Content(
        requires=(f"kernel-modules-core = {ctx.evra.evr}", "dracut"),
        provides=(f"kernel-uname-r = {ctx.kver}", "installonlypkg(kernel)"),
        files=(
            directory(moddir),
            text_file(f"{moddir}/vmlinuz", f"stand-in vmlinuz {ctx.kver}\n" * 64, mode=0o755),
            text_file(f"{moddir}/initramfs.img", f"stand-in initramfs {ctx.kver}\n", mode=0o600),
            text_file(f"{moddir}/config", "CONFIG_64BIT=y\n"),
            text_file(f"{moddir}/System.map", "ffffffff81000000 T _text\n"),
        ),
    )


def kernel_modules_core(ctx: Context) -> Content:
    """Modules; modules.dep is depmod's to write (Fedora ships it as %ghost)."""
    moddir = f"/usr/lib/modules/{ctx.kver}"
    return Content(files=(text_file(f"{moddir}/kernel/drivers/standin.ko", "stand-in module\n"),))


def kernel_modules(ctx: Context) -> Content:
    return Content(
        requires=(f"kernel-modules-core = {ctx.evra.evr}",),
        files=(text_file(f"/usr/lib/modules/{ctx.kver}/kernel/fs/standin-fs.ko", "stand-in\n"),),
    )


def dracut(ctx: Context) -> Content:
    return Content(
        requires=("bash", "coreutils", "kmod", "systemd-udev"),
        files=(script("/usr/bin/dracut", scripts.DRACUT), directory("/usr/lib/dracut/modules.d")),
    )


def efi_filesystem(ctx: Context) -> Content:
    return Content(
        files=tuple(
            directory(d)
            for d in ("/boot/efi", "/boot/efi/EFI", "/boot/efi/EFI/BOOT", "/boot/efi/EFI/fedora")
        )
    )


def grub2_efi_x64(ctx: Context) -> Content:
    return Content(
        requires=("efi-filesystem", "grub2-common"),
        provides=(f"grub2-efi = {ctx.evra.evr}",),
        files=(
            text_file("/boot/efi/EFI/fedora/grubx64.efi", "stand-in grubx64.efi\n", mode=0o700),
        ),
    )


def shim_x64(ctx: Context) -> Content:
    return Content(
        requires=("efi-filesystem", "mokutil"),
        provides=(f"shim = {ctx.evra.evr}",),
        files=(
            text_file("/boot/efi/EFI/fedora/shimx64.efi", "stand-in shimx64.efi\n", mode=0o700),
            text_file("/boot/efi/EFI/BOOT/BOOTX64.EFI", "stand-in BOOTX64.EFI\n", mode=0o700),
        ),
    )


def grub2_pc(ctx: Context) -> Content:
    return Content(
        requires=("grub2-common", "grub2-pc-modules", "grub2-tools", "grub2-tools-minimal"),
        provides=(f"grub2 = {ctx.evra.evr}",),
    )


def grub2_tools(ctx: Context) -> Content:
    grubd = "/etc/grub.d"
    hooks = (
        "00_header",
        "08_fallback_counting",
        "10_linux",
        "10_reset_boot_success",
        "12_menu_auto_hide",
    )
    return Content(
        requires=("grub2-common", "grub2-tools-minimal", "gettext-runtime", "os-prober", "which"),
        files=(
            *(script(f"{grubd}/{hook}", f"#!/usr/bin/sh\n# {hook}\n") for hook in hooks),
            command("/usr/sbin/grub2-mkconfig", ctx.name, ctx.evra.version),
            unit("grub-boot-success.timer", install="WantedBy=timers.target", scope="user"),
            unit("grub-boot-success.service", scope="user"),
            unit("grub-boot-indeterminate.service"),
            symlink(
                "/usr/lib/systemd/system/system-update.target.wants/grub-boot-indeterminate.service",
                "../grub-boot-indeterminate.service",
            ),
        ),
    )


def bootupd(ctx: Context) -> Content:
    return Content(files=(script("/usr/bin/bootupctl", scripts.BOOTUPCTL),))


def selinux_policy(ctx: Context) -> Content:
    return Content(
        requires=("policycoreutils", "rpm-plugin-selinux"),
        files=(text_file("/etc/selinux/config", "SELINUX=enforcing\nSELINUXTYPE=targeted\n"),),
    )


# A few of the targeted policy's file contexts, and its path substitutions.
FILE_CONTEXTS = """\
/.*\tsystem_u:object_r:default_t:s0
/usr(/.*)?\tsystem_u:object_r:usr_t:s0
/usr/bin(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/sbin(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/libexec(/.*)?\tsystem_u:object_r:bin_t:s0
/usr/lib(/.*)?\tsystem_u:object_r:lib_t:s0
/usr/lib/systemd/system(/.*)?\tsystem_u:object_r:systemd_unit_file_t:s0
/usr/lib/modules(/.*)?\tsystem_u:object_r:modules_object_t:s0
/etc(/.*)?\tsystem_u:object_r:etc_t:s0
/etc/passwd\tsystem_u:object_r:passwd_file_t:s0
/etc/group\tsystem_u:object_r:passwd_file_t:s0
/etc/shadow.*\tsystem_u:object_r:shadow_t:s0
/boot(/.*)?\tsystem_u:object_r:boot_t:s0
/var(/.*)?\tsystem_u:object_r:var_t:s0
/tmp(/.*)?\tsystem_u:object_r:tmp_t:s0
"""
SUBS_DIST = """\
/run /var/run
/lib64 /usr/lib
/lib /usr/lib
/usr/lib64 /usr/lib
/etc/systemd/system /usr/lib/systemd/system
/var/roothome /root
/var/home /home
"""


def selinux_policy_targeted(ctx: Context) -> Content:
    """The policy store, a stand-in binary policy (libostree only checksums it) and file
    contexts that libselinux can label the tree with."""
    store = "/etc/selinux/targeted"
    dirs = (
        store,
        f"{store}/active",
        f"{store}/active/modules",
        f"{store}/contexts",
        f"{store}/policy",
    )
    return Content(
        requires=(f"selinux-policy = {ctx.evra.evr}",),
        requires_pre=("policycoreutils",),
        files=(
            *(directory(d) for d in dirs),
            text_file(f"{store}/policy/policy.33", "stand-in binary policy\n"),
            text_file(f"{store}/contexts/files/file_contexts", FILE_CONTEXTS),
            text_file(f"{store}/contexts/files/file_contexts.subs_dist", SUBS_DIST),
        ),
    )


def policycoreutils(ctx: Context) -> Content:
    return Content(
        requires=("libselinux-utils", "libsemanage"),
        files=(
            script("/usr/sbin/setsebool", scripts.SETSEBOOL),
            script("/usr/sbin/semodule", scripts.SEMODULE),
            command("/usr/sbin/restorecon", ctx.name, ctx.evra.version),
        ),
    )


def iptables_variant(variant: str, priority: int, *, man: bool) -> Special:
    """iptables-legacy / iptables-nft: their binaries, set as the `iptables` alternative
    in %post (legacy with the higher priority, as in Fedora)."""
    tools = [
        f"{family}{suffix}"
        for family in ("iptables", "ip6tables")
        for suffix in ("", "-restore", "-save")
    ]

    def special(ctx: Context) -> Content:
        files = [
            command(f"/usr/sbin/{variant_name(tool, variant)}", ctx.name, ctx.evra.version)
            for tool in tools
        ]
        slaves = [
            f"--slave /usr/sbin/{tool} {tool} /usr/sbin/{variant_name(tool, variant)}"
            for tool in tools
            if tool != "iptables"
        ]
        if man:
            page = f"/usr/share/man/man8/iptables-{variant}.8.gz"
            files.append(FileSpec(page, "file", f"iptables-{variant}(8)\n", 0o644))
            slaves.append(f"--slave /usr/share/man/man8/iptables.8.gz iptables-man {page}")
        post = (
            f"alternatives --install /usr/sbin/iptables iptables /usr/sbin/iptables-{variant} "
            f"{priority} {' '.join(slaves)}\n"
        )
        return Content(
            requires=("iptables-libs",),
            requires_pre=("/usr/sbin/alternatives",),
            provides=(f"iptables = {ctx.evra.evr}",) if variant == "legacy" else (),
            files=tuple(files),
            scriptlets=(Scriptlet("post", post),),
        )

    return special


def variant_name(tool: str, variant: str) -> str:
    """iptables-restore -> iptables-legacy-restore, as Fedora names them."""
    family, _, action = tool.partition("-")
    return f"{family}-{variant}" + (f"-{action}" if action else "")


BOOT: dict[str, Special] = {
    "kernel": kernel,
    "kernel-core": kernel_core,
    "kernel-modules-core": kernel_modules_core,
    "kernel-modules": kernel_modules,
    "dracut": dracut,
    "efi-filesystem": efi_filesystem,
    "grub2-efi-x64": grub2_efi_x64,
    "shim-x64": shim_x64,
    "grub2-pc": grub2_pc,
    "grub2-tools": grub2_tools,
    "bootupd": bootupd,
    "selinux-policy": selinux_policy,
    "selinux-policy-targeted": selinux_policy_targeted,
    "policycoreutils": policycoreutils,
    "iptables-legacy": iptables_variant("legacy", 10, man=True),
    "iptables-nft": iptables_variant("nft", 5, man=False),
}
