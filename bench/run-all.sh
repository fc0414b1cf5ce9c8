#!/usr/bin/env bash
# The full run behind BENCHMARKS.md: machine facts, then http.sh with its defaults (15 s warm-up, then 10 s on new
# connections: on two cores the JIT compiler is still busy 8 s into a run, and busy again for ~10 s after the
# connections change), http.sh again with a longer steady state (30 s, then 15 s), memory.sh and jmh.sh, all written to
# bench/target/full-<timestamp>/summary.md (and shown). Each HTTP table is the median of ROUNDS [3] interleaved
# rounds; about 85 minutes with 3 rounds (ROUNDS=1: about 35).
#
#   bench/run-all.sh
#   QUIET_WAIT=25 bench/run-all.sh   # first wait (up to 25 min) until the 1-minute load average is below 0.8
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"
OUT="$BENCH_DIR/target/full-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
SUMMARY="$OUT/summary.md"

if [ "${QUIET_WAIT:-0}" -gt 0 ]; then
  deadline=$(($(date +%s) + QUIET_WAIT * 60))
  while awk '{ exit !($1 >= 0.8) }' /proc/loadavg && [ "$(date +%s)" -lt "$deadline" ]; do
    echo "waiting for a quiet machine: load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
    sleep 30
  done
fi

# Build once, before the clock starts.
SKIP_BUILD=0 build
export SKIP_BUILD=1

{
  echo "# Full run $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "- load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- CPU: $(nproc) × $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "- RAM: $(free -g | awk '/^Mem:/ { print $2 " GiB" }')"
  echo "- java: $(java -version 2>&1 | head -2 | tr '\n' ' ')"
  echo "- wrk: $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- redis-server: $(redis-server --version | cut -d' ' -f3)"
  echo "- library: $(git -C "$BENCH_DIR/.." rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo
} | tee "$SUMMARY"

echo "## HTTP, 15 s warm-up, then 10 s on new connections" | tee -a "$SUMMARY"
"$BENCH_DIR/http.sh" | tee -a "$SUMMARY"
echo | tee -a "$SUMMARY"
echo "## HTTP, steady state (30 s warm-up, then 15 s on new connections)" | tee -a "$SUMMARY"
WARMUP=30 WARMUP2=15 "$BENCH_DIR/http.sh" | tee -a "$SUMMARY"
echo | tee -a "$SUMMARY"
"$BENCH_DIR/memory.sh" | tee -a "$SUMMARY"
echo | tee -a "$SUMMARY"
"$BENCH_DIR/jmh.sh" | tee -a "$SUMMARY"
{
  echo
  echo "- load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
} | tee -a "$SUMMARY"
echo "summary: $SUMMARY" >&2
