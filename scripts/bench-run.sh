#!/usr/bin/env bash
# Measures how long a full run takes compared with its longest case, and
# how much CPU it uses: the numbers behind the default concurrency. Not a
# test: nothing here asserts a time; it prints what it measured.
#
#   scripts/bench-run.sh [PICHARNESS_BINARY]
#
# 1. the full catalogue against the embedded reference Edge: wall time,
#    the run's own duration, the longest case, the ratio, user+sys CPU time;
# 2. the full catalogue against an Edge that accepts TCP and never answers
#    (`--sut-chaos silent-after-accept`): wall time against the longest case
#    timeout in the catalogue.
# Run it as root inside a private network namespace so it cannot collide
# with other runs: unshare -n bash -c 'ip link set lo up && scripts/bench-run.sh'
set -u
cd "$(dirname "$0")/.."
bin=${1:-target/debug/picharness}
[ -x "$bin" ] || { echo "no $bin; build it first (cargo build)"; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

measure() { # name, then the run's arguments
  local name=$1
  shift
  /usr/bin/time -f "%e %U %S" -o "$out/$name.time" "$bin" run --report-dir "$out/$name" -q "$@" >/dev/null 2>&1
  read -r wall user sys < <(tail -1 "$out/$name.time")
  jq -r --arg name "$name" --arg wall "$wall" --arg user "$user" --arg sys "$sys" '
    (.cases | max_by(.duration_ms)) as $longest
    | "\($name): \(.cases | length) cases, totals \(.totals | tostring)\n"
      + "  wall \($wall) s, run duration \(.duration_ms / 1000) s, start-up and reports \((($wall | tonumber) - .duration_ms / 1000) * 100 | round / 100) s\n"
      + "  longest case \($longest.id) \($longest.duration_ms / 1000) s; run duration / longest case = \((.duration_ms / $longest.duration_ms) * 100 | round / 100)\n"
      + "  cases under 300 ms: \([.cases[] | select(.duration_ms < 300)] | length)\n"
      + "  CPU user \($user) s + sys \($sys) s = \((($user | tonumber) + ($sys | tonumber)) * 100 | round / 100) s"
  ' "$out/$name/summary.json"
}

longest_timeout_ms=$(grep -rh '^timeout_ms *=' scenarios/cases | awk '{print $3}' | sort -n | tail -1)
echo "== $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), binary $bin"
measure embedded --embedded-net 127.70.0.0
measure silent --embedded-net 127.71.0.0 --sut-chaos silent-after-accept
echo "longest case timeout in the catalogue: $((longest_timeout_ms / 1000)) s (target for the silent run: at most 1.5 x that plus start-up)"
