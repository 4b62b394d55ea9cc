# SWUpdate bundles: `norrec swu build` (CMS-signed) against swugenerator on the same inputs, and
# `norrec swu verify` of a bundle holding a 64 MiB gzip'd ext4 against `swupdate -c`.
# Goals (issue 4): build >= 5x faster than swugenerator, verify >= 2x faster than swupdate -c.
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"

d=$BENCH_TMP/swu
mkdir -p "$d/art" "$d/root/etc" "$d/tmp"
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$d/key.pem" -out "$d/cert.pem" -days 5 \
    -subj "/CN=norrec bench" -addext keyUsage=digitalSignature \
    -addext extendedKeyUsage=emailProtection >/dev/null 2>&1

# Inputs: the seed's bundle contents. SPL 600 KiB, boot.scr, a 64 MiB ext4 with 24 MiB of files.
head -c 614400 /dev/urandom > "$d/art/u-boot-sunxi-with-spl.bin"
printf 'load mmc 0:${rootpart} ${kernel_addr_r} /boot/zImage\nbootz ${kernel_addr_r}\n' > "$d/art/boot.scr"
for i in $(seq 1 24); do head -c 1048576 /dev/urandom | base64 > "$d/root/etc/f$i"; done
mke2fs -q -F -t ext4 -d "$d/root" "$d/art/rootfs.ext4" 64M >/dev/null
gzip -n -6 -c "$d/art/rootfs.ext4" > "$d/art/rootfs.ext4.gz"

# 1. build: images taken as they are (rootfs already gzip'd), sha256 filled, CMS-signed.
cat > "$d/sw-description" <<EOT
software = {
  version = "1.0";
  hardware-compatibility = [ "1.0" ];
  images: (
    { filename = "u-boot-sunxi-with-spl.bin"; type = "raw"; device = "$d/dev/mmcblk0"; offset = "8K";
      sha256 = "\$swupdate_get_sha256(u-boot-sunxi-with-spl.bin)"; },
    { filename = "rootfs.ext4.gz"; type = "raw"; device = "$d/dev/mmcblk0p2";
      sha256 = "\$swupdate_get_sha256(rootfs.ext4.gz)"; }
  );
  files: (
    { filename = "boot.scr"; type = "rawfile"; path = "$d/dev/boot.scr";
      sha256 = "\$swupdate_get_sha256(boot.scr)"; }
  );
}
EOT
nr=$(median_time 5 "$NORREC swu build $d/sw-description -a $d/art --sign cms --key $d/key.pem --cert $d/cert.pem -o $d/n.swu")
sg=$(median_time 3 "swugenerator -s $d/sw-description -a $d/art -o $d/g.swu -k CMS,$d/key.pem,$d/cert.pem create")
size=$(stat -c %s "$d/n.swu")
echo "swu build CMS-signed ($((size / 1048576)) MiB bundle): norrec ${nr} s, swugenerator ${sg} s, ratio $(ratio "$nr" "$sg")x"

# 2. verify: signature + every sha256 + cpio; swupdate -c checks the same bundle (no install).
$NORREC swu verify "$d/n.swu" --cert "$d/cert.pem" -H board:1.0 >/dev/null
TMPDIR=$d/tmp swupdate -c -i "$d/n.swu" -k "$d/cert.pem" -H board:1.0 >/dev/null 2>&1 \
    || { echo "bench: swupdate -c refused the bundle" >&2; exit 1; }
nv=$(median_time 9 "$NORREC swu verify $d/n.swu --cert $d/cert.pem -H board:1.0")
sv=$(median_time 5 "TMPDIR=$d/tmp swupdate -c -i $d/n.swu -k $d/cert.pem -H board:1.0")
echo "swu verify ($((size / 1048576)) MiB bundle, 64 MiB ext4 gzip'd): norrec ${nv} s, swupdate -c ${sv} s, ratio $(ratio "$nv" "$sv")x"
