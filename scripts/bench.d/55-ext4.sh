# ext4: norrec disk format of a 1 GiB sparse image against mkfs.ext4 -F -E lazy_itable_init
# (the seed's data-partition format), and norrec disk mkfs-from-dir against mke2fs -t ext4 -d
# on the same tree (3,000 small files in nested directories + a 64 MiB file).
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
d=$BENCH_TMP/ext4
mkdir -p "$d"
truncate -s 1G "$d/n.img" "$d/m.img"
sync; nr=$(median_time 11 "$NORREC -q disk format $d/n.img:0 ext4")
sync; mk=$(median_time 11 "mkfs.ext4 -q -F -E lazy_itable_init $d/m.img")
echo "ext4 format 1 GiB: norrec ${nr} s; mkfs.ext4 -F -E lazy_itable_init ${mk} s (norrec $(ratio "$nr" "$mk")x faster)"
echo "ext4 format 1 GiB disk use: norrec $(du -k "$d/n.img" | cut -f1) KiB, mkfs.ext4 $(du -k "$d/m.img" | cut -f1) KiB"
src=$d/tree
for i in $(seq 0 29); do
  mkdir -p "$src/usr/share/d$i"
  for j in $(seq 0 99); do printf 'file %d %d\n' "$i" "$j" > "$src/usr/share/d$i/f$j.txt"; done
done
head -c 64M /dev/urandom > "$src/usr/big.bin"
ln -s ../usr/big.bin "$src/usr/share/link"
sync; nr=$(median_time 5 "rm -f $d/n.ext4; $NORREC -q disk mkfs-from-dir $src -o $d/n.ext4 --size 256M")
sync; mk=$(median_time 5 "rm -f $d/m.ext4; mke2fs -q -F -t ext4 -d $src $d/m.ext4 256M")
echo "ext4 mkfs-from-dir 3,000 files + 64 MiB into 256 MiB: norrec ${nr} s; mke2fs -t ext4 -d ${mk} s (norrec $(ratio "$nr" "$mk")x faster)"
# mke2fs picks 1 KiB blocks under 512 MiB; the same 4 KiB blocks as norrec for comparison.
sync; mk4=$(median_time 5 "rm -f $d/m.ext4; mke2fs -q -F -t ext4 -b 4096 -d $src $d/m.ext4 256M")
echo "ext4 mkfs-from-dir, both 4 KiB blocks: norrec ${nr} s; mke2fs -t ext4 -b 4096 -d ${mk4} s (norrec $(ratio "$nr" "$mk4")x faster)"
rm -rf "$d"
