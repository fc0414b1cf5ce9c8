#!/usr/bin/env bash
# What each Redis server's requests cost Redis, command by command: the servers of http.sh that use Redis, each under
# wrk as in http.sh, then Redis's own INFO commandstats of the measured run (the commands a script runs are listed
# under their own names too, and counted inside the script's usec). Prints markdown; raw output goes to
# bench/target/redis-commands-<timestamp>/.
#
#   bench/redis-commands.sh                                   # both workloads, the three Redis servers
#   SERVERS=ours-redis-cached WORKLOADS=counter bench/redis-commands.sh
#
# Environment (defaults in brackets): SERVERS ["vertx-redis ours-redis ours-redis-cached"], WORKLOADS ["counter
# read"], ROUNDS [3], WARMUP [15] and DURATION [10] seconds, CONNECTIONS [8], SKIP_BUILD [0]. Needs java, mvn, wrk,
# redis-server and redis-cli.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

SERVERS=${SERVERS:-"vertx-redis ours-redis ours-redis-cached"}
WORKLOADS=${WORKLOADS:-"counter read"}
ROUNDS=${ROUNDS:-3}
WARMUP=${WARMUP:-15}
DURATION=${DURATION:-10}
CONNECTIONS=${CONNECTIONS:-8}

need java mvn wrk redis-server redis-cli
build
RESULTS="$BENCH_DIR/target/redis-commands-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
trap cleanup EXIT
TICKS=$(getconf CLK_TCK)

echo "Redis commands per request: wrk -t$CONNECTIONS -c$CONNECTIONS, ${WARMUP}s warm-up, ${DURATION}s measured;"
echo "INFO commandstats of the measured run, one row per round and command."
echo
echo "| server | workload | round | req/s | redis-server CPU µs/req | command | calls/req | µs/call |"
echo "|---|---|---:|---:|---:|---|---:|---:|"
for round in $(seq "$ROUNDS"); do
  for workload in $WORKLOADS; do
    for server in $SERVERS; do
      start_redis
      log="$RESULTS/$server-$workload-$round.log"
      start_server "$server" "$log" || { echo "error: $server did not start, see $log" >&2; exit 1; }
      url="http://127.0.0.1:$SERVER_PORT/"
      MODE=$workload wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${WARMUP}s" -s "$BENCH_DIR/wrk/session.lua" "$url" \
        >"$RESULTS/$server-$workload-$round.warmup" 2>&1
      redis-cli -p "$REDIS_PORT" CONFIG RESETSTAT >/dev/null
      before=$(awk '{print $14 + $15}' "/proc/$REDIS_PID/stat")
      MODE=$workload wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${DURATION}s" -s "$BENCH_DIR/wrk/session.lua" "$url" \
        >"$RESULTS/$server-$workload-$round.wrk" 2>&1
      after=$(awk '{print $14 + $15}' "/proc/$REDIS_PID/stat")
      redis-cli -p "$REDIS_PORT" INFO commandstats | tr -d '\r' >"$RESULTS/$server-$workload-$round.stats"
      stop_server
      stop_redis
      result=$(grep '^RESULT ' "$RESULTS/$server-$workload-$round.wrk")
      requests=$(field "$result" requests)
      rps=$(awk -v n="$requests" -v d="$DURATION" 'BEGIN { printf "%d", n / d }')
      cpu=$(awk -v t=$((after - before)) -v hz="$TICKS" -v n="$requests" 'BEGIN { printf "%.0f", t * 1e6 / hz / n }')
      # cmdstat_<name>:calls=N,usec=U,usec_per_call=P,...
      grep '^cmdstat_' "$RESULTS/$server-$workload-$round.stats" | grep -v 'cmdstat_config' \
        | sed 's/^cmdstat_\([^:]*\):calls=\([0-9]*\),usec=[0-9]*,usec_per_call=\([0-9.]*\).*/\1 \2 \3/' \
        | sort -k2 -nr \
        | while read -r command calls per_call; do
            printf '| %s | %s | %s | %s | %s | %s | %.2f | %s |\n' "$server" "$workload" "$round" "$rps" "$cpu" \
              "$command" "$(awk -v c="$calls" -v n="$requests" 'BEGIN { print c / n }')" "$per_call"
          done
    done
  done
done
