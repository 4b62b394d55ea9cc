# ext4 read: norrec disk cp out of an image mke2fs -t ext4 -d made (1 KiB blocks, as mke2fs
# picks under 512 MiB) against debugfs (e2fsprogs): one 100 MiB file (`dump`) and the whole
# tree, 3,000 small files in nested directories + the 100 MiB file (`rdump`). Also norrec's peak
# memory for the 100 MiB copy (streaming: it must not grow with the file).
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
d=$BENCH_TMP/ext4r
src=$d/tree
mkdir -p "$src"
for i in $(seq 0 29); do
  mkdir -p "$src/usr/share/d$i"
  for j in $(seq 0 99); do printf 'file %d %d\n' "$i" "$j" > "$src/usr/share/d$i/f$j.txt"; done
done
head -c 100M /dev/urandom > "$src/big.bin"
truncate -s 400M "$d/fs.img"
mke2fs -q -F -t ext4 -d "$src" "$d/fs.img"
sync; nr=$(median_time 5 "rm -f $d/n.bin; $NORREC -q disk cp $d/fs.img:0:/big.bin $d/n.bin")
sync; db=$(median_time 5 "rm -f $d/m.bin; debugfs -R 'dump /big.bin $d/m.bin' $d/fs.img")
cmp "$d/n.bin" "$src/big.bin" && cmp "$d/m.bin" "$src/big.bin"
echo "ext4 cp out 100 MiB: norrec ${nr} s; debugfs dump ${db} s (norrec $(ratio "$nr" "$db")x faster)"
sync; nr=$(median_time 5 "rm -rf $d/n; mkdir $d/n; $NORREC -q disk cp $d/fs.img:0:/ $d/n/t")
sync; db=$(median_time 5 "rm -rf $d/m; mkdir $d/m; debugfs -R 'rdump / $d/m' $d/fs.img")
diff -r "$src" "$d/n/t" -x lost+found >/dev/null && diff -r "$src/usr" "$d/m/usr" >/dev/null
echo "ext4 cp out tree (3,000 files + 100 MiB): norrec ${nr} s; debugfs rdump ${db} s (norrec $(ratio "$nr" "$db")x faster)"
if [ -x /usr/bin/time ]; then
  rss=$( { /usr/bin/time -f %M "$NORREC" -q disk cp "$d/fs.img:0:/big.bin" "$d/r.bin" >/dev/null; } 2>&1 | tail -1)
  echo "ext4 cp out 100 MiB: norrec peak RSS ${rss} KiB"
fi
rm -rf "$d"
