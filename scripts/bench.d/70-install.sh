# `norrec install` against `swupdate -i` of the same CMS-signed bundle (SPL 600 KiB raw at 8 KiB,
# a 64 MiB ext4 gzip'd to the p2 "device") into regular files standing for the devices; both
# write the same bytes (tests/install.rs checks that). Also norrec's peak RSS (the rootfs streams)
# and the seed's whole update (+ boot.scr into vfat p1 + bootenv) into a 1 GiB SD image.
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"

d=$BENCH_TMP/install
mkdir -p "$d/art" "$d/root/etc" "$d/tmp" "$d/sw" "$d/nr"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 5 \
    -subj "/CN=norrec bench" -addext keyUsage=digitalSignature \
    -addext extendedKeyUsage=emailProtection >/dev/null 2>&1

head -c 614400 /dev/urandom > "$d/art/u-boot-sunxi-with-spl.bin"
printf 'load mmc 0:${rootpart} ${kernel_addr_r} /boot/zImage\nbootz ${kernel_addr_r}\n' > "$d/art/boot.scr"
for i in $(seq 1 24); do head -c 1048576 /dev/urandom | base64 > "$d/root/etc/f$i"; done
# stored under the name of its gzip'd form: `swu build --compress zlib` compresses it
mke2fs -q -F -t ext4 -d "$d/root" "$d/art/rootfs.ext4.gz" 64M >/dev/null

cat > "$d/raw.sw-description" <<EOT
software = {
  version = "1.0";
  hardware-compatibility = [ "1.0" ];
  images: (
    { filename = "u-boot-sunxi-with-spl.bin"; type = "raw"; device = "$d/sw/mmcblk0"; offset = "8K"; },
    { filename = "rootfs.ext4.gz"; type = "raw"; device = "$d/sw/mmcblk0p2"; compressed = "zlib";
      installed-directly = true; }
  );
}
EOT
$NORREC -q swu build "$d/raw.sw-description" -a "$d/art" --compress zlib --sign cms \
    --key "$d/key.pem" --cert "$d/cert.pem" -o "$d/raw.swu" >/dev/null
for t in sw nr; do
    head -c 4M /dev/zero > "$d/$t/mmcblk0"
    truncate -s 64M "$d/$t/mmcblk0p2"
done
size=$(stat -c %s "$d/raw.swu")
sw=$(median_time 5 "TMPDIR=$d/tmp swupdate -i $d/raw.swu -k $d/cert.pem -H board:1.0")
nr=$(median_time 5 "$NORREC -q install $d/raw.swu -d $d/sw/mmcblk0=$d/nr/mmcblk0 -d $d/sw/mmcblk0p2=$d/nr/mmcblk0p2 -k $d/cert.pem -H board:1.0")
cmp -s "$d/sw/mmcblk0p2" "$d/nr/mmcblk0p2" && cmp -s "$d/sw/mmcblk0" "$d/nr/mmcblk0" \
    || { echo "bench: norrec install and swupdate -i wrote different bytes" >&2; exit 1; }
echo "install ($((size / 1048576)) MiB bundle: 64 MiB ext4 gzip'd + 600 KiB SPL @8K, into files): norrec ${nr} s, swupdate -i ${sw} s, ratio $(ratio "$nr" "$sw")x"
if [ -x /usr/bin/time ]; then
    rss_nr=$(/usr/bin/time -f %M "$NORREC" -q install "$d/raw.swu" -d "$d/sw/mmcblk0=$d/nr/mmcblk0" \
        -d "$d/sw/mmcblk0p2=$d/nr/mmcblk0p2" -k "$d/cert.pem" -H board:1.0 2>&1 >/dev/null | tail -1)
    rss_sw=$(TMPDIR=$d/tmp /usr/bin/time -f %M swupdate -i "$d/raw.swu" -k "$d/cert.pem" -H board:1.0 2>&1 >/dev/null | tail -1)
    echo "install peak RSS: norrec ${rss_nr} KiB, swupdate -i ${rss_sw} KiB"
fi

# The seed's update into an SD image norrec partitioned and formatted (no swupdate equivalent
# without root: it mounts the vfat).
cat > "$d/sd.sw-description" <<EOT
software = {
  version = "1.0";
  hardware-compatibility = [ "1.0" ];
  images: (
    { filename = "u-boot-sunxi-with-spl.bin"; type = "raw"; device = "/dev/mmcblk0"; offset = "8K"; },
    { filename = "rootfs.ext4.gz"; type = "raw"; device = "/dev/mmcblk0p2"; compressed = "zlib"; }
  );
  files: (
    { filename = "boot.scr"; type = "rawfile"; device = "/dev/mmcblk0p1"; filesystem = "vfat"; path = "/boot.scr"; }
  );
  bootenv: ( { name = "rootpart"; value = "2"; } );
}
EOT
$NORREC -q swu build "$d/sd.sw-description" -a "$d/art" --compress zlib --sign cms \
    --key "$d/key.pem" --cert "$d/cert.pem" -o "$d/sd.swu" >/dev/null
$NORREC -q disk create "$d/sd.img" --size 1G --board-layout >/dev/null
$NORREC -q disk format "$d/sd.img:1" vfat --fat 16 >/dev/null
nr=$(median_time 5 "$NORREC -q install $d/sd.swu -d /dev/mmcblk0=$d/sd.img -k $d/cert.pem -H cubieboard:1.0")
echo "install seed update into 1 GiB SD image (SPL, rootfs p2, boot.scr vfat p1, uboot.env): norrec ${nr} s, disk use $(du -k "$d/sd.img" | cut -f1) KiB"
rm -rf "$d"
