#!/usr/bin/env bash
# HTTP benchmark: vertx-sessions against Vert.x-Web 5.0.7's SessionHandler and a server without sessions, same
# machine, same run, same JVM flags. ROUNDS rounds, each a full pass over every server and workload (so a burst of
# other load on the machine hits every server alike, not three runs of one); the table gives the median of the
# rounds, the ratio to bare and of ours to the Vert.x-Web store of the same kind. Prints markdown; raw wrk output,
# server logs and every round's row go to bench/target/http-<timestamp>/.
#
#   bench/http.sh                          # full run: 15 s warm-up, 10 s on new connections, 12 s measured
#   WARMUP=30 WARMUP2=15 bench/http.sh     # a longer steady state (what run-all.sh runs second)
#   WARMUP=8 WARMUP2=0 bench/http.sh       # the protocol before 2026-12-08 (the JIT still compiling when measured)
#   WARMUP=2 DURATION=3 bench/http.sh      # smoke run
#
# Environment (defaults in brackets):
#   ROUNDS [3]                   rounds; each starts with a different server (the order rotates)
#   WARMUP [15]  DURATION [12]   seconds of the warm-up run (discarded) and of the measured run
#   WARMUP2 [10]                 seconds of a second warm-up run on new connections (0 = none). Opening new
#                                connections after the first warm-up makes the JIT throw away and recompile the
#                                compiled connection paths; on two cores that takes ~10 s of one core, which
#                                without this run falls into the measured one.
#   CONNECTIONS [8]              wrk connections; wrk gets as many threads, so each connection has its own jar
#   SERVERS ["bare vertx-local ours-memory vertx-cookie ours-signed vertx-redis ours-redis ours-file"]; also
#                                ours-redis-cached and ours-file-cached (near_cache on), and either Redis server with -pooled (every call
#                                borrows a pooled connection) or -pipelined (one connection per event loop, the
#                                default) appended, e.g. ours-redis-cached-pooled; and floor-signed and
#                                floor-server-side: bare answering with the headers ours-signed and ours-memory
#                                answer with (the same Set-Cookie length and attributes, Cache-Control: private),
#                                doing nothing else: the ceiling of a server of ours on this harness
#   WORKLOADS ["counter read"]
#   JAVA_OPTS ["-Xms512m -Xmx512m -XX:+UseG1GC -XX:+AlwaysPreTouch"]   the same for every server
#   SKIP_BUILD [0]               1 = reuse bench/target/benchmarks.jar as it is
#
# "wrk CPU µs/req" is the CPU wrk itself used per answer: the client shares the two cores with the server, so what
# a cookie costs it (parse, store, send back) lowers every cookie server's req/s against bare whatever the server does.
#
# Every server is started fresh for each workload and round, warmed up with the same workload, then measured. Needs java,
# mvn, wrk, redis-server and curl.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

WARMUP=${WARMUP:-15}
WARMUP2=${WARMUP2:-10}
DURATION=${DURATION:-12}
CONNECTIONS=${CONNECTIONS:-8}
SERVERS=${SERVERS:-"bare vertx-local ours-memory vertx-cookie ours-signed vertx-redis ours-redis ours-file"}
ROUNDS=${ROUNDS:-3}
WORKLOADS=${WORKLOADS:-"counter read"}

need java mvn wrk redis-server curl
build
RESULTS="$BENCH_DIR/target/http-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
trap cleanup EXIT
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
LOADS=()
start_redis

declare -A RPS P99 SCPU JCPU RCPU WCPU STALE LOST ERRS MISM FAILED
read -r -a SERVER_LIST <<<"$SERVERS"
TICKS=$(getconf CLK_TCK)

# CPU time (user + system, all threads) a process has used, in clock ticks; 0 when it is gone.
cpu_ticks() { # pid
  if [ -r "/proc/$1/stat" ]; then
    awk '{ print $14 + $15 }' "/proc/$1/stat"
  else
    echo 0
  fi
}

# CPU time of the JVM's JIT compiler threads (C1, C2) in a process, in clock ticks: part of cpu_ticks. In the measured
# run it should be near 0; when it is not, the JIT was still compiling (warm-up too short for that server).
jit_ticks() { # pid
  local task total=0
  for task in /proc/"$1"/task/*; do
    case "$(cat "$task/comm" 2>/dev/null)" in
      C1\ Compiler* | C2\ Compiler*) total=$((total + $(awk '{ print $14 + $15 }' "$task/stat" 2>/dev/null || echo 0))) ;;
    esac
  done
  echo "$total"
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

# The middle value (the mean of the two middle ones for an even count) of numbers; "n/a" when there are none.
median() {
  printf '%s\n' "$@" | { grep -E '^[0-9.]+$' || true; } | sort -g | awk '{ v[NR] = $1 } END {
    if (NR == 0) print "n/a"; else if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

ratio() { # a b format
  awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { if (a ~ /^[0-9.]+$/ && b + 0 > 0) printf f, a / b; else print "n/a" }'
}

# The Vert.x-Web store each of ours is compared with.
pair_of() {
  case "$1" in
    ours-signed) echo vertx-cookie ;;
    ours-memory) echo vertx-local ;;
    ours-redis*) echo vertx-redis ;;
    *) echo "" ;;
  esac
}

echo "| round | server | workload | req/s | p99 µs | server CPU µs/req | of it JIT | redis-server CPU µs/req" \
  "| wrk CPU µs/req | stale | lost | errors | mismatches | load average |" >"$RESULTS/rounds.md"
echo "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|" >>"$RESULTS/rounds.md"
for ((round = 1; round <= ROUNDS; round++)); do
  count=${#SERVER_LIST[@]}
  for ((i = 0; i < count; i++)); do
    server=${SERVER_LIST[$(((i + round - 1) % count))]}
    for workload in $WORKLOADS; do
      key="$server/$workload/$round"
      log="$RESULTS/$server-$workload-r$round.server.log"
      flush_redis
      echo "== round $round/$ROUNDS: $server / $workload (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
      rc=0
      start_server "$server" "$log" || rc=$?
      if [ "$rc" = 3 ]; then
        FAILED[$server/$workload]="n/a (backend missing)"
        continue
      elif [ "$rc" != 0 ]; then
        FAILED[$server/$workload]="n/a (server failed to start, see $(basename "$log"))"
        continue
      fi
      check=1
      [[ "$server" == bare || "$server" == floor-* ]] && check=0
      url="http://127.0.0.1:$SERVER_PORT"
      out="$RESULTS/$server-$workload-r$round"
      MODE=$workload CHECK=$check wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${WARMUP}s" --latency \
        -s "$BENCH_DIR/wrk/session.lua" "$url" >"$out.warmup.txt"
      if [ "$WARMUP2" -gt 0 ]; then
        MODE=$workload CHECK=$check wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${WARMUP2}s" --latency \
          -s "$BENCH_DIR/wrk/session.lua" "$url" >"$out.warmup2.txt"
      fi
      server_cpu=$(cpu_ticks "$SERVER_PID")
      jit_cpu=$(jit_ticks "$SERVER_PID")
      redis_cpu=$(cpu_ticks "$REDIS_PID")
      # bash's time keyword: the CPU (user, system) wrk itself used, what a client pays per answer (a cookie to
      # parse, store and send back costs it more than a bare answer does, on the same two cores as the server)
      { TIMEFORMAT='%3U %3S'; time MODE=$workload CHECK=$check SESSIONS_OUT="$out.sessions" \
        wrk -t"$CONNECTIONS" -c"$CONNECTIONS" -d"${DURATION}s" --latency \
        -s "$BENCH_DIR/wrk/session.lua" "$url" >"$out.wrk.txt"; } 2>"$out.wrk-cpu.txt"
      server_cpu=$(( $(cpu_ticks "$SERVER_PID") - server_cpu ))
      jit_cpu=$(( $(jit_ticks "$SERVER_PID") - jit_cpu ))
      redis_cpu=$(( $(cpu_ticks "$REDIS_PID") - redis_cpu ))
      load=$(cut -d' ' -f1 /proc/loadavg)
      LOADS+=("$load")
      result=$(grep '^RESULT ' "$out.wrk.txt")
      lost="n/a"
      stale="n/a"
      if [ "$check" = 1 ]; then
        lost=$(lost_writes "$out.sessions")
        stale=$(field "$result" stale)
      fi
      stop_server
      requests=$(field "$result" requests)
      RPS[$key]=$(field "$result" rps)
      P99[$key]=$(field "$result" p99_us)
      SCPU[$key]=$(per_request_us "$server_cpu" "$requests")
      WCPU[$key]=$(tail -1 "$out.wrk-cpu.txt" | awk -v n="$requests" \
        '{ if (n > 0 && NF == 2) printf "%.0f", ($1 + $2) * 1e6 / n; else print "n/a" }')
      JCPU[$key]=$(per_request_us "$jit_cpu" "$requests")
      RCPU[$key]=$(per_request_us "$redis_cpu" "$requests")
      STALE[$key]=$stale
      LOST[$key]=$lost
      ERRS[$key]=$(( $(field "$result" non2xx) + $(field "$result" connect) + $(field "$result" read)
        + $(field "$result" write) + $(field "$result" timeout) ))
      MISM[$key]=$(grep -c "Session version mismatch" "$log" || true)
      row=$(printf "| %s | %s | %s | %.0f | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" "$round" "$server" \
        "$workload" "${RPS[$key]}" "${P99[$key]}" "${SCPU[$key]}" "${JCPU[$key]}" "${RCPU[$key]}" "${WCPU[$key]}" \
        "$stale" "$lost" "${ERRS[$key]}" "${MISM[$key]}" "$load")
      echo "$row" >>"$RESULTS/rounds.md"
      echo "$row" >&2
    done
  done
done
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)

# values ARRAY server workload: the values of every round that ran
values() {
  local -n array=$1
  local r
  for ((r = 1; r <= ROUNDS; r++)); do
    [ -n "${array[$2/$3/$r]+set}" ] && echo "${array[$2/$3/$r]}"
  done
  return 0
}
# sum ARRAY server workload: the total over the rounds ("n/a" when not counted)
total() {
  values "$@" | awk '/^[0-9]+$/ { s += $1; n++ } END { if (n) print s; else print "n/a" }'
}
# per-round ratio of ARRAY's a to b: "min–max" over the rounds where both ran
round_ratios() { # array a b workload
  local -n array=$1
  local r out=()
  for ((r = 1; r <= ROUNDS; r++)); do
    if [ -n "${array[$2/$4/$r]+set}" ] && [ -n "${array[$3/$4/$r]+set}" ]; then
      out+=("$(ratio "${array[$2/$4/$r]}" "${array[$3/$4/$r]}" "%.2f")")
    fi
  done
  [ ${#out[@]} -eq 0 ] && { echo "n/a"; return; }
  printf '%s\n' "${out[@]}" | sort -g | awk '{ v[NR] = $1 } END { if (v[1] == v[NR]) print v[1]; else print v[1] "–" v[NR] }'
}
med() { # ARRAY server workload
  # shellcheck disable=SC2046
  median $(values "$@")
}

LOAD_MEDIAN=$(median "${LOADS[@]}")
LOAD_MIN=$(printf '%s\n' "${LOADS[@]}" | sort -g | head -1)
LOAD_MAX=$(printf '%s\n' "${LOADS[@]}" | sort -g | tail -1)
{
  warmups="${WARMUP}s warm-up"
  [ "$WARMUP2" -gt 0 ] && warmups="$warmups, then ${WARMUP2}s on new connections"
  echo "HTTP: $CONNECTIONS connections (wrk -t$CONNECTIONS -c$CONNECTIONS, one cookie jar each), $warmups," \
    "${DURATION}s measured; median of $ROUNDS rounds (interleaved: every round runs every server once per" \
    "workload). Load average (1 min) at start $LOAD_START, at end $LOAD_END; at the end of the measured runs" \
    "min $LOAD_MIN, median $LOAD_MEDIAN, max $LOAD_MAX."
  echo
  echo "| server | workload | req/s | × bare | p99 | p99 × bare | server CPU µs/req | of it JIT | redis-server CPU µs/req" \
    "| wrk CPU µs/req | stale reads | lost writes | errors | version-mismatch warnings |"
  echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
  for workload in $WORKLOADS; do
    bare_rps=$(med RPS bare "$workload")
    bare_p99=$(med P99 bare "$workload")
    for server in $SERVERS; do
      rps=$(med RPS "$server" "$workload")
      if [ "$rps" = n/a ]; then
        echo "| $server | $workload | ${FAILED[$server/$workload]:-n/a} | | | | | | | | | | | |"
        continue
      fi
      p99=$(med P99 "$server" "$workload")
      printf "| %s | %s | %.0f | %s | %s ms | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n" "$server" "$workload" \
        "$rps" "$(ratio "$rps" "$bare_rps" "%.2f")" "$(awk -v u="$p99" 'BEGIN { printf "%.2f", u / 1000 }')" \
        "$(ratio "$p99" "$bare_p99" "%.1f")" "$(med SCPU "$server" "$workload")" "$(med JCPU "$server" "$workload")" \
        "$(med RCPU "$server" "$workload")" "$(med WCPU "$server" "$workload")" \
        "$(total STALE "$server" "$workload")" "$(total LOST "$server" "$workload")" \
        "$(total ERRS "$server" "$workload")" "$(total MISM "$server" "$workload")"
    done
  done
  echo
  echo "Stale reads, lost writes, errors and warnings are totals over the rounds; the other columns are medians."
  echo
  echo "Ours against the Vert.x-Web store of the same kind, same run: ratio of the medians (in brackets: the" \
    "lowest and highest ratio within one round)."
  echo
  echo "| ours vs Vert.x-Web | workload | req/s | p99 | server CPU µs/req | server + redis-server CPU µs/req |"
  echo "|---|---|---:|---:|---:|---:|"
  for workload in $WORKLOADS; do
    for ours in $SERVERS; do
      theirs=$(pair_of "$ours")
      [ -z "$theirs" ] && continue
      [[ " $SERVERS " == *" $theirs "* ]] || continue
      a=$(med RPS "$ours" "$workload"); b=$(med RPS "$theirs" "$workload")
      ap=$(med P99 "$ours" "$workload"); bp=$(med P99 "$theirs" "$workload")
      ac=$(med SCPU "$ours" "$workload"); bc=$(med SCPU "$theirs" "$workload")
      ar=$(med RCPU "$ours" "$workload"); br=$(med RCPU "$theirs" "$workload")
      at=$(awk -v x="$ac" -v y="$ar" 'BEGIN { print x + y }'); bt=$(awk -v x="$bc" -v y="$br" 'BEGIN { print x + y }')
      printf "| %s vs %s | %s | %s× (%s) | %s× | %s vs %s µs (%s×) | %s vs %s µs (%s×) |\n" "$ours" "$theirs" "$workload" \
        "$(ratio "$a" "$b" "%.2f")" "$(round_ratios RPS "$ours" "$theirs" "$workload")" "$(ratio "$ap" "$bp" "%.2f")" \
        "$ac" "$bc" "$(ratio "$ac" "$bc" "%.2f")" "$at" "$bt" "$(ratio "$at" "$bt" "%.2f")"
    done
  done
} | tee "$RESULTS/table.md"
echo >&2
echo "every round: $RESULTS/rounds.md" >&2
echo "raw results: $RESULTS" >&2
