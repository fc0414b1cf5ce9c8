#!/usr/bin/env bash
# What keeping the user index costs per request (issue 20): Redis round trips, commands run inside the scripts,
# Redis time, bytes on the wire and the index's memory; on files, which files N requests write and an index file's
# size. A real HTTP server with the SessionMiddleware and a real HTTP client in one JVM (IndexCost.java), a throw-away
# redis-server on a free loopback port, the file backend in a temporary directory. Prints markdown (the section
# "Cost of the user index (issue 20)" of BENCHMARKS.md); the output and redis-server's log go to
# bench/target/index-cost-<timestamp>/.
#
#   bench/index-cost.sh                    # N=20000 requests per workload and round, 3 rounds
#   N=2000 ROUNDS=1 bench/index-cost.sh    # smoke run
#   BACKENDS=file bench/index-cost.sh      # one backend only
#
# Environment (defaults in brackets): N [20000], ROUNDS [3], WARMUP [2000] requests before the rounds,
# BACKENDS ["redis file"], SKIP_BUILD [0] (1 = reuse bench/target/benchmarks.jar), JAVA_OPTS (as http.sh).
# Counts (commands, bytes, files) are exact; the µs are Redis's own commandstats, noisy on a busy machine.
# Needs java, mvn, redis-server.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

BACKENDS=${BACKENDS:-"redis file"}
export N=${N:-20000} ROUNDS=${ROUNDS:-3} WARMUP=${WARMUP:-2000}

need java mvn redis-server
build
RESULTS="$BENCH_DIR/target/index-cost-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
trap cleanup EXIT
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" | tee "$RESULTS/load.txt" >&2
for backend in $BACKENDS; do
  if [ "$backend" = redis ]; then
    start_redis
  fi
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
  REDIS_URL="redis://127.0.0.1:$REDIS_PORT" java $JAVA_OPTS -cp "$JAR" dev.vertxsessions.bench.IndexCost "$backend" \
    | tee "$RESULTS/$backend.md"
  echo
  stop_redis
done
echo "load average at end: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$RESULTS/load.txt" >&2
