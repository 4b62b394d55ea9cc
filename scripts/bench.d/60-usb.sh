# usb create of the seed's 1 GiB USB stick with a 64 MiB bundle, against the seed's sequence done
# rootlessly with the real tools: dd (or truncate) + sfdisk ",,c" + mkfs.vfat --offset 2048 +
# mcopy -i usb.img@@1M. Also disk cp of the bundle into an existing stick against mcopy alone.
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
d=$BENCH_TMP/usb
mkdir -p "$d"
head -c 64M /dev/urandom > "$d/update.swu"
printf ',,c\n' > "$d/usb.sfdisk"
SF="sfdisk --no-reread --no-tell-kernel -q"
export MTOOLS_SKIP_CHECK=1
# sync before each group: the dd variant leaves 1 GiB of dirty pages whose writeback would
# otherwise slow down whatever is timed next.
sync; nr=$(median_time 7 "rm -f $d/n.img; $NORREC -q usb create $d/n.img --size 1G --add $d/update.swu")
sync; seed=$(median_time 3 "rm -f $d/s.img; dd if=/dev/zero of=$d/s.img bs=1M count=1024 2>/dev/null && $SF $d/s.img < $d/usb.sfdisk && mkfs.vfat --offset 2048 $d/s.img && mcopy -i $d/s.img@@1M $d/update.swu ::/")
sync; sparse=$(median_time 5 "rm -f $d/t.img; truncate -s 1G $d/t.img && $SF $d/t.img < $d/usb.sfdisk && mkfs.vfat --offset 2048 $d/t.img && mcopy -i $d/t.img@@1M $d/update.swu ::/")
echo "usb create 1 GiB + 64 MiB bundle: norrec ${nr} s; seed's dd + sfdisk + mkfs.vfat + mcopy ${seed} s (norrec $(ratio "$nr" "$seed")x faster)"
echo "usb create 1 GiB + 64 MiB bundle: norrec ${nr} s; truncate + sfdisk + mkfs.vfat + mcopy ${sparse} s (norrec $(ratio "$nr" "$sparse")x faster)"
echo "usb create disk use: norrec $(du -k "$d/n.img" | cut -f1) KiB, dd variant $(du -k "$d/s.img" | cut -f1) KiB, truncate variant $(du -k "$d/t.img" | cut -f1) KiB"
# What the copy of the bundle alone costs on this file system (norrec copies it with
# copy_file_range, a reflink where the file system shares blocks): the floor under usb create.
sync; cpf=$(median_time 7 "rm -f $d/c.bin; cp --reflink=never $d/update.swu $d/c.bin")
sync; catf=$(median_time 7 "cat $d/update.swu > /dev/null")
sync; emptyf=$(median_time 7 "rm -f $d/e.img; $NORREC -q usb create $d/e.img --size 1G")
echo "usb create floor on $(stat -f -c %T "$d"): cp --reflink=never of the 64 MiB bundle ${cpf} s, cat of it ${catf} s, norrec usb create 1 GiB without files ${emptyf} s"
sync; nr=$(median_time 7 "$NORREC -q disk cp $d/update.swu $d/n.img:1:/again.swu")
sync; mc=$(median_time 7 "mcopy -o -i $d/t.img@@1M $d/update.swu ::/again.swu")
echo "disk cp 64 MiB into FAT32: norrec ${nr} s; mcopy ${mc} s (norrec $(ratio "$nr" "$mc")x faster)"
sync; nr=$(median_time 7 "$NORREC -q disk format $d/n.img:1 vfat")
sync; mk=$(median_time 7 "mkfs.vfat --offset 2048 $d/t.img")
echo "disk format 1 GiB FAT32: norrec ${nr} s; mkfs.vfat --offset ${mk} s (norrec $(ratio "$nr" "$mk")x faster)"
rm -rf "$d"
