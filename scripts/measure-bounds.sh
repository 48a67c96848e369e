#!/usr/bin/env bash
# Measures what a run costs whatever the Edge does: peak resident memory
# (VmHWM, from /usr/bin/time) and the size of the report directory, for a
# good run against the embedded reference Edge and for every chaos mode,
# each over the whole catalogue at the default concurrency. Not a test:
# nothing here asserts; it prints one line per run.
#
#   scripts/measure-bounds.sh [PICHARNESS_BINARY] [MODE...]
#
# Run it as root inside a private network namespace so it cannot collide
# with other runs: unshare -n bash -c 'ip link set lo up && scripts/measure-bounds.sh'
set -u
cd "$(dirname "$0")/.."
bin=${1:-target/debug/picharness}
shift || true
[ -x "$bin" ] || { echo "no $bin; build it first (cargo build)"; exit 2; }
modes=("$@")
if [ ${#modes[@]} -eq 0 ]; then
  modes=(good silent-after-accept stall-after-tls garbage broken-sip oversize
    reset-after-handshake reset-mid-message tls-alert plain-text yes-man flood crash-mid-run)
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== $(date -u +%FT%TZ) $(nproc) CPUs, binary $bin"
printf '%-24s %10s %12s %10s %s\n' mode peak-MiB report-bytes wall totals
net=60
for mode in "${modes[@]}"; do
  net=$((net + 1))
  args=(--embedded-net "127.$net.0.0")
  [ "$mode" = good ] || args+=(--sut-chaos "$mode")
  /usr/bin/time -f "%M %e" -o "$out/time" "$bin" run --report-dir "$out/$mode" -q "${args[@]}" >/dev/null 2>&1
  read -r kib wall < <(tail -1 "$out/time")
  bytes=$(du -sb "$out/$mode" | cut -f1)
  totals=$(jq -c '.totals | {pass, fail, inconclusive, error}' "$out/$mode/summary.json" 2>/dev/null)
  printf '%-24s %10s %12s %10s %s\n' "$mode" "$((kib / 1024))" "$bytes" "$wall" "$totals"
  rm -rf "${out:?}/$mode"
done
