# disk create of the seed's 1 GiB SD card (sfdisk layout) and 1 GiB USB stick (",,c") against
# the seed's commands: qemu-img/dd for the file, then sfdisk on it.
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
d=$BENCH_TMP/disk
mkdir -p "$d"
printf 'unit: sectors\nsector-size: 512\nstart= 4096, size= 81920, type=c, bootable\nstart= 86016, size= 681574, type=L\nstart= 770048, size= 681574, type=L\nstart= 1454080, size= , type=L\n' > "$d/sd.sfdisk"
printf ',,c\n' > "$d/usb.sfdisk"
SF="sfdisk --no-reread --no-tell-kernel -q"
nr=$(median_time 9 "$NORREC -q disk create $d/sd.img --size 1G --layout $d/sd.sfdisk")
tr=$(median_time 9 "rm -f $d/sd.img; truncate -s 1G $d/sd.img && $SF $d/sd.img < $d/sd.sfdisk")
echo "disk create 1 GiB SD + seed layout: norrec ${nr} s; truncate + sfdisk ${tr} s (norrec $(ratio "$nr" "$tr")x faster)"
nr=$(median_time 5 "$NORREC -q disk create $d/usb.img --size 1G --layout $d/usb.sfdisk")
dd=$(median_time 3 "dd if=/dev/zero of=$d/usb.img bs=1M count=1024 2>/dev/null && $SF $d/usb.img < $d/usb.sfdisk")
echo "disk create 1 GiB USB + ',,c': norrec ${nr} s; seed's dd bs=1M + sfdisk ${dd} s (norrec $(ratio "$nr" "$dd")x faster)"
nr=$(median_time 9 "$NORREC disk show $d/sd.img")
sf=$(median_time 9 "sfdisk -d $d/sd.img")
echo "disk show: norrec ${nr} s; sfdisk -d ${sf} s (norrec $(ratio "$nr" "$sf")x faster)"
rm -rf "$d"
