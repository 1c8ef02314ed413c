"""Booting composed trees in QEMU: the build server's `boot` check and the
upgrade/rollback proof of `compose boot-test`.

The pieces, each doing what a real machine's part does:

    deploy.py   an installer: libostree deploys a commit into a sysroot directory, with
                the kernel arguments a virtual machine's disk needs
    image.py    the disk: `mkfs.ext4 -d` makes an ext4 image of the sysroot directory
                (no root privileges, no loop device); `debugfs rdump` reads back what a
                boot may change (/var and each deployment's /etc)
    bls.py      the bootloader: the default Boot Loader Specification entry of
                /boot/loader/entries, whose linux, initrd and options QEMU is given
    qemu.py     the machine: QEMU (TCG) with the serial console in a log, stopped at a
                time limit with everything it started
    serial.py   what the tree's init printed: its marker and its boot-time checks
    check.py    the `boot` check: deploy, image, boot, judge
    proof.py    `compose boot-test`: boot the previous version, upgrade with fedostree's
                client, boot, roll back, boot"""
