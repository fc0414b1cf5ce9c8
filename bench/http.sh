#!/usr/bin/env bash
# HTTP benchmark: vertx-sessions against Vert.x-Web 5.0.7's SessionHandler and a server without sessions, same
# machine, same run, same JVM flags. Prints one markdown table; raw wrk output and server logs go to
# bench/target/http-<timestamp>/.
#
#   bench/http.sh                          # full run: 8 s warm-up + 12 s measured per server and workload
#   WARMUP=30 WARMUP2=15 bench/http.sh     # steady state (what run-all.sh runs second)
#   WARMUP=2 DURATION=3 bench/http.sh      # smoke run
#
# Environment (defaults in brackets):
#   WARMUP [8]  DURATION [12]    seconds of the warm-up run (discarded) and of the measured run
#   WARMUP2 [0]                  seconds of a second warm-up run on new connections (0 = none). Opening new
#                                connections after the first warm-up makes the JIT throw away and recompile the
#                                compiled connection paths; on two cores that takes ~10 s of one core, which
#                                without this run falls into the measured one.
#   CONNECTIONS [8]              wrk connections; wrk gets as many threads, so each connection has its own jar
#   SERVERS ["bare vertx-local vertx-cookie vertx-redis ours-signed ours-file ours-redis"]
#   WORKLOADS ["counter read"]
#   JAVA_OPTS ["-Xms512m -Xmx512m -XX:+UseG1GC -XX:+AlwaysPreTouch"]   the same for every server
#   SKIP_BUILD [0]               1 = reuse bench/target/benchmarks.jar as it is
#
# Every server is started fresh for each workload, warmed up with the same workload, then measured. Needs java,
# mvn, wrk, redis-server and curl.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

WARMUP=${WARMUP:-8}
WARMUP2=${WARMUP2:-0}
DURATION=${DURATION:-12}
CONNECTIONS=${CONNECTIONS:-8}
SERVERS=${SERVERS:-"bare vertx-local vertx-cookie vertx-redis ours-signed ours-file ours-redis"}
WORKLOADS=${WORKLOADS:-"counter read"}

need java mvn wrk redis-server curl
build
RESULTS="$BENCH_DIR/target/http-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
trap cleanup EXIT
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
start_redis

declare -A ROW BARE_RPS BARE_P99
TICKS=$(getconf CLK_TCK)

# CPU time (user + system, all threads) a process has used, in clock ticks; 0 when it is gone.
cpu_ticks() { # pid
  if [ -r "/proc/$1/stat" ]; then
    awk '{ print $14 + $15 }' "/proc/$1/stat"
  else
    echo 0
  fi
}

per_request_us() { # ticks requests
  awk -v t="$1" -v hz="$TICKS" -v n="$2" 'BEGIN { if (n > 0) printf "%.0f", t * 1e6 / hz / n; else print "n/a" }'
}

# Asks the server, with each thread's last cookie, for the stored number and adds up how many acknowledged
# increments it no longer has.
lost_writes() { # sessions-file
  local lost=0 counted cookie value
  sleep 1 # let writes that the server completes after answering land
  while read -r counted cookie; do
    value=$(curl -s --max-time 5 -H "Cookie: $cookie" "http://127.0.0.1:$SERVER_PORT/read" || true)
    [[ "$value" =~ ^[0-9]+$ ]] || value=0
    if [ "$counted" -gt "$value" ]; then
      lost=$((lost + counted - value))
    fi
  done <"$1"
  echo "$lost"
}

for server in $SERVERS; do
  for workload in $WORKLOADS; do
    log="$RESULTS/$server-$workload.server.log"
    flush_redis
    echo "== $server / $workload" >&2
    rc=0
    start_server "$server" "$log" || rc=$?
    if [ "$rc" = 3 ]; then
      ROW[$server/$workload]="| $server | $workload | n/a (backend missing) | | | | | | | | | |"
      continue
    elif [ "$rc" != 0 ]; then
      ROW[$server/$workload]="| $server | $workload | n/a (server failed to start, see $(basename "$log")) | | | | | | | | | |"
      continue
    fi
    check=1
    [ "$server" = bare ] && check=0
    url="http://127.0.0.1:$SERVER_PORT"
    MODE=$workload CHECK=$check wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${WARMUP}s" --latency \
      -s "$BENCH_DIR/wrk/session.lua" "$url" >"$RESULTS/$server-$workload.warmup.txt"
    if [ "$WARMUP2" -gt 0 ]; then
      MODE=$workload CHECK=$check wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${WARMUP2}s" --latency \
        -s "$BENCH_DIR/wrk/session.lua" "$url" >"$RESULTS/$server-$workload.warmup2.txt"
    fi
    server_cpu=$(cpu_ticks "$SERVER_PID")
    redis_cpu=$(cpu_ticks "$REDIS_PID")
    MODE=$workload CHECK=$check SESSIONS_OUT="$RESULTS/$server-$workload.sessions" \
      wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
      -s "$BENCH_DIR/wrk/session.lua" "$url" >"$RESULTS/$server-$workload.wrk.txt"
    server_cpu=$(( $(cpu_ticks "$SERVER_PID") - server_cpu ))
    redis_cpu=$(( $(cpu_ticks "$REDIS_PID") - redis_cpu ))
    result=$(grep '^RESULT ' "$RESULTS/$server-$workload.wrk.txt")
    lost="n/a"
    stale="n/a"
    if [ "$check" = 1 ]; then
      lost=$(lost_writes "$RESULTS/$server-$workload.sessions")
      stale=$(field "$result" stale)
    fi
    stop_server
    rps=$(field "$result" rps)
    requests=$(field "$result" requests)
    server_us=$(per_request_us "$server_cpu" "$requests")
    redis_us=$(per_request_us "$redis_cpu" "$requests")
    p99=$(field "$result" p99_us)
    errors=$(( $(field "$result" non2xx) + $(field "$result" connect) + $(field "$result" read)
      + $(field "$result" write) + $(field "$result" timeout) ))
    mismatches=$(grep -c "Session version mismatch" "$log" || true)
    if [ "$server" = bare ]; then
      BARE_RPS[$workload]=$rps
      BARE_P99[$workload]=$p99
    fi
    ratio=$(awk -v a="$rps" -v b="${BARE_RPS[$workload]:-}" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')
    p99ratio=$(awk -v a="$p99" -v b="${BARE_P99[$workload]:-}" 'BEGIN { if (b > 0) printf "%.1f", a / b; else print "n/a" }')
    ROW[$server/$workload]=$(printf "| %s | %s | %.0f | %s | %.2f ms | %s | %s | %s | %s | %s | %s | %s |" \
      "$server" "$workload" "$rps" "$ratio" "$(awk -v u="$p99" 'BEGIN { print u / 1000 }')" "$p99ratio" \
      "$server_us" "$redis_us" "$stale" "$lost" "$errors" "$mismatches")
    echo "${ROW[$server/$workload]}" >&2
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

{
  warmups="${WARMUP}s warm-up"
  [ "$WARMUP2" -gt 0 ] && warmups="$warmups, then ${WARMUP2}s on new connections"
  echo "HTTP: $CONNECTIONS connections (wrk -t$CONNECTIONS -c$CONNECTIONS, one cookie jar each), $warmups," \
    "${DURATION}s measured; load average at start $LOAD_START, at end $LOAD_END"
  echo
  echo "| server | workload | req/s | × bare | p99 | p99 × bare | server CPU µs/req | redis-server CPU µs/req" \
    "| stale reads | lost writes | errors | version-mismatch warnings |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for workload in $WORKLOADS; do
    for server in $SERVERS; do
      echo "${ROW[$server/$workload]}"
    done
  done
} | tee "$RESULTS/table.md"
echo >&2
echo "raw results: $RESULTS" >&2
