# boot.cmd of the recovered system (norrec script build boot.cmd -o boot.scr): U-Boot sources it
# from the first (FAT, bootable) partition. The rootfs slot comes from the environment the
# recovery wrote (rootpart=2 or 3); kernel, device tree and initrd live in the rootfs's /boot.
if test -z "${rootpart}"; then setenv rootpart 2; fi
setenv bootargs console=ttyS0,115200 root=/dev/mmcblk0p${rootpart} rootwait
load mmc 0:${rootpart} ${kernel_addr_r} /boot/vmlinuz
load mmc 0:${rootpart} ${fdt_addr_r} /boot/sun4i-a10-cubieboard.dtb
load mmc 0:${rootpart} ${ramdisk_addr_r} /boot/initrd.img
bootz ${kernel_addr_r} ${ramdisk_addr_r}:${filesize} ${fdt_addr_r}
