# Recovery initramfs: `norrec initramfs build` (reads each module's .modinfo, orders them, writes
# the cpio newc with the console node and gzips it) against the shell way of the same archive:
# a staged tree (copies, mknod) + `find | cpio -o -H newc | gzip -6`, given the order for free.
# Needs the board assets (scripts/board-assets).

bench_initramfs() {
  local assets=${NORREC_BOARD_ASSETS:-${NORREC_CACHE:-$HOME/.cache/norrec}/board}
  local mods
  mods=$(ls -d "$assets"/kernel/lib/modules/* 2>/dev/null | head -n1)
  if [ -z "$mods" ]; then
    echo "initramfs: skipped (no board assets; run scripts/board-assets)"
    return 0
  fi
  local init=$PWD/target/board/armv7-unknown-linux-gnueabihf/release/norrec
  [ -f "$init" ] || init=$NORREC
  local d=$BENCH_TMP/initramfs
  mkdir -p "$d"
  local order
  order=$("$NORREC" agent modules --modules-from "$mods" --json |
    python3 -c 'import json,sys; print(" ".join(m["entry"] for m in json.load(sys.stdin)))')

  cat >"$d/shell.sh" <<SH
set -e
rm -rf "$d/tree" && mkdir -p "$d/tree" && cd "$d/tree"
mkdir -p dev proc sys mnt etc/norrec lib/modules
mknod -m 600 dev/console c 5 1
cp "$init" init && chmod 755 init
echo cubieboard > etc/norrec/board
: > lib/modules/norrec.order
for e in $order; do
  n=\$(basename "\$e" | tr - _).ko
  cp "$mods/kernel/\$e.ko" "lib/modules/\$n"
  echo "\$n" >> lib/modules/norrec.order
done
find . -mindepth 1 | sort | cpio -o -H newc --quiet | gzip -6 > "$d/shell.cpio.gz"
SH
  local n r
  n=$(median_time 5 "'$NORREC' initramfs build --norrec-bin '$init' --modules-from '$mods' -o '$d/norrec.cpio.gz'")
  r=$(median_time 5 "bash '$d/shell.sh'")
  echo "initramfs build ($(stat -c %s "$d/norrec.cpio.gz") bytes gz, 30 modules): norrec $n s, tree + cpio | gzip $r s, ratio $(ratio "$n" "$r")x"
}
bench_initramfs
