# flash create of a 16 MiB IS25WP128 image against the seed's dd | tr and the fast head | tr.
. "$(dirname "${BASH_SOURCE[0]}")/00-lib.sh"
# Goals (issue 2): >= 200x faster than dd ibs=1 | tr, >= 3x faster than head -c | tr.
out=$BENCH_TMP/flash.bin
nr=$(median_time 9 "$NORREC flash create --chip is25wp128 -o $out")
dd=$(median_time 3 "dd if=/dev/zero ibs=1 count=\$((16*1024*1024)) 2>/dev/null | LC_ALL=C tr '\\000' '\\377' > $out")
hd=$(median_time 9 "head -c 16M /dev/zero | LC_ALL=C tr '\\000' '\\377' > $out")
echo "flash create 16 MiB: norrec ${nr} s; seed's dd ibs=1 | tr ${dd} s (norrec $(ratio "$nr" "$dd")x faster); head -c | tr ${hd} s (norrec $(ratio "$nr" "$hd")x faster)"
