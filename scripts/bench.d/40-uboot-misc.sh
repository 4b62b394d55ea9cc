# Script images, environments: norrec against mkimage -T script, mkenvimage and fw_setenv /
# fw_printenv, each timed in this run (median of N whole-process runs).
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
t=$BENCH_TMP/uboot-misc
mkdir -p "$t"
printf 'setenv bootargs console=ttyS0,115200 root=/dev/mmcblk0p${rootpart} rootwait\nload mmc 0:${rootpart} ${kernel_addr_r} /boot/zImage\nbootz ${kernel_addr_r} - ${fdt_addr_r}\n' > "$t/boot.cmd"
export SOURCE_DATE_EPOCH=1700000000

nr=$(median_time 21 "$NORREC script build $t/boot.cmd -n boot -o $t/n.scr")
mk=$(median_time 21 "mkimage -A arm -O linux -T script -C none -n boot -d $t/boot.cmd $t/m.scr")
cmp "$t/n.scr" "$t/m.scr"
echo "script build: norrec ${nr} s, mkimage -T script ${mk} s, ratio $(ratio "$nr" "$mk")x"

# a default-sized environment: 60 variables in 0x10000 bytes
for i in $(seq 1 60); do echo "var_$i=value number $i with some text ${RANDOM}"; done > "$t/env.txt"
nr=$(median_time 21 "$NORREC env build $t/env.txt -s 0x10000 -o $t/n.env")
mk=$(median_time 21 "mkenvimage -s 0x10000 -o $t/m.env $t/env.txt")
cmp "$t/n.env" "$t/m.env"
echo "env build 64 KiB: norrec ${nr} s, mkenvimage ${mk} s, ratio $(ratio "$nr" "$mk")x"

cp "$t/m.env" "$t/fw.env"
echo "$t/fw.env 0x0 0x10000" > "$t/fw_env.config"
nr=$(median_time 21 "$NORREC env set -c $t/fw_env.config rootpart 3")
fw=$(median_time 21 "fw_setenv -c $t/fw_env.config rootpart 2")
echo "env set 64 KiB: norrec ${nr} s, fw_setenv ${fw} s, ratio $(ratio "$nr" "$fw")x"
nr=$(median_time 21 "$NORREC env print -c $t/fw_env.config")
fw=$(median_time 21 "fw_printenv -c $t/fw_env.config")
echo "env print 64 KiB: norrec ${nr} s, fw_printenv ${fw} s, ratio $(ratio "$nr" "$fw")x"
