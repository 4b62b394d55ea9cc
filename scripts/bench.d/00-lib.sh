# Shared timing helpers for the bench.d scripts (sourced by scripts/bench, in name order).

# median_time N CMD... : runs the shell command string CMD N times and prints the median wall
# time in seconds (3 decimals). Output of CMD is discarded.
median_time() {
  local n=$1; shift
  local times=() i t0 t1
  for ((i = 0; i < n; i++)); do
    t0=$(date +%s%N)
    bash -c "$*" >/dev/null 2>&1 || { echo "bench: command failed: $*" >&2; return 1; }
    t1=$(date +%s%N)
    times+=($(( (t1 - t0) / 1000 )))
  done
  printf '%s\n' "${times[@]}" | sort -n | awk '{a[NR]=$1} END {printf "%.3f\n", a[int((NR+1)/2)]/1e6}'
}

# ratio A B : prints B/A with one decimal (how many times faster A is than B).
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN { if (a <= 0) a = 0.0005; printf "%.1f", b / a }'
}
