# fit build of a 10 MiB kernel + dtb against mkimage -f; fit verify against sha256 of the same
# bytes with sha256sum and openssl.
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
# Goals (issue 3): fit build >= 5x faster than mkimage -f; fit verify within 1.2x of the faster
# of sha256sum and openssl dgst -sha256.
d=$BENCH_TMP/fit
mkdir -p "$d"
head -c $((10 * 1024 * 1024)) /dev/urandom > "$d/zImage"
printf '/dts-v1/;\n/ { model = "Cubietech Cubieboard"; compatible = "cubietech,a10-cubieboard"; };\n' > "$d/board.dts"
"$NORREC" -q dtb build "$d/board.dts" -o "$d/board.dtb"
cat > "$d/image.its" <<'ITS'
/dts-v1/;
/ {
	description = "bench";
	#address-cells = <1>;
	images {
		kernel-1 {
			description = "Linux kernel";
			data = /incbin/("zImage");
			type = "kernel"; arch = "arm"; os = "linux"; compression = "none";
			load = <0x40008000>; entry = <0x40008000>;
			hash-1 { algo = "sha256"; };
		};
		fdt-1 {
			description = "board";
			data = /incbin/("board.dtb");
			type = "flat_dt"; arch = "arm"; compression = "none";
			hash-1 { algo = "sha256"; };
		};
	};
	configurations {
		default = "conf-1";
		conf-1 { description = "Linux"; kernel = "kernel-1"; fdt = "fdt-1"; };
	};
};
ITS
export SOURCE_DATE_EPOCH=1700000000
nb=$(median_time 9 "$NORREC -q fit build $d/image.its -o $d/n.itb")
mb=$(median_time 5 "mkimage -f $d/image.its $d/m.itb")
cmp "$d/n.itb" "$d/m.itb" && same="byte-identical" || same="DIFFERENT"
echo "fit build 10 MiB: norrec ${nb} s, mkimage -f ${mb} s, ratio $(ratio "$nb" "$mb")x (outputs $same)"
nv=$(median_time 9 "$NORREC -q fit verify $d/n.itb")
ss=$(median_time 9 "sha256sum $d/zImage")
os=$(median_time 9 "openssl dgst -sha256 $d/zImage")
best=$(awk -v a="$ss" -v b="$os" 'BEGIN { print (a < b) ? a : b }')
echo "fit verify 10 MiB: norrec ${nv} s, sha256sum ${ss} s, openssl dgst -sha256 ${os} s; norrec / faster = $(ratio "$best" "$nv")x (goal <= 1.2x)"
