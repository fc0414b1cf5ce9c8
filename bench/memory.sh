#!/usr/bin/env bash
# Memory benchmark: the server's heap after SESSIONS (100,000) distinct sessions. For each server: start it, warm
# it up with WARMUP seconds of the counter workload, force a full GC and read the used heap (jcmd GC.run +
# GC.heap_info), create SESSIONS new sessions (GET /counter without a cookie, FRESH_CONCURRENCY at a time, each
# stored), then GC and read the heap again: at once ("right after": includes saves still queued behind the answers)
# and once it settles (two readings 5 s apart within 1 MB, at most 60 s). A backend that keeps no per-session state
# in the JVM is flat once settled.
#
# With CHECKPOINTS (cumulative session counts, ascending; the last is the total and replaces SESSIONS) the sessions
# are created in steps and the settled heap is read after each step, so that "flat" is shown, not assumed; the
# ours-* servers' near_cache_entries (GET /metrics) are read at each one too. A second table lists every
# checkpoint; a third one, for each *-cached server run together with the same server without the cache, the
# cache's share of the heap (the difference between the two) and that share per cached entry.
#
#   bench/memory.sh
#   SESSIONS=10000 WARMUP=2 bench/memory.sh         # smoke run
#   # the near cache (issue 22): its heap within the bound after 100,000 sessions, then flat
#   MEM_SERVERS="ours-redis ours-redis-cached ours-file ours-file-cached" \
#     CHECKPOINTS="25000 50000 100000 150000 200000" bench/memory.sh
#   # the same with a bound by bytes that binds before the one by count (1 MiB), and with ~1 KB values
#   NEAR_CACHE_MAX_BYTES=1048576 MEM_SERVERS=... CHECKPOINTS=... bench/memory.sh
#   VALUE_BYTES=1024 MEM_SERVERS=... CHECKPOINTS=... bench/memory.sh
#
# Environment: SESSIONS [100000], CHECKPOINTS [SESSIONS], WARMUP [5], FRESH_CONCURRENCY [8] (also wrk's threads
# and connections in the warm-up), MEM_SERVERS ["vertx-local ours-memory ours-signed ours-file ours-redis"; the
# near-cache servers ours-redis-cached and ours-file-cached run when named], JAVA_OPTS and SKIP_BUILD as for
# http.sh. vertx-local (Vert.x-Web's in-memory store) and ours-memory keep every session in the heap; for
# ours-memory the bound memory_max_sessions (default 10,000) is raised to MEMORY_MAX_SESSIONS [total + 1000] so
# that it keeps all of them, as vertx-local does. Passed to the servers: NEAR_CACHE_MAX_ENTRIES and
# NEAR_CACHE_MAX_BYTES [unset: the library's defaults, 10,000 and 64 MiB] bound the *-cached servers' near cache,
# NEAR_CACHE_MAX_LAG_MS [unset: 1000] is its window (on a busy machine a marker that comes back late clears the
# cache, and near_cache_entries then counts only what came after: a longer window keeps the readings comparable);
# VALUE_BYTES [0] makes /counter also store a string of that many characters in every session. The build honours
# MAVEN_OPTS (e.g. -Dmaven.repo.local=... for a private local repository).
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

SESSIONS=${SESSIONS:-100000}
CHECKPOINTS=${CHECKPOINTS:-$SESSIONS}
read -r -a POINTS <<<"$CHECKPOINTS"
SESSIONS=${POINTS[-1]}
WARMUP=${WARMUP:-5}
FRESH_CONCURRENCY=${FRESH_CONCURRENCY:-8}
MEM_SERVERS=${MEM_SERVERS:-"vertx-local ours-memory ours-signed ours-file ours-redis"}
export MEMORY_MAX_SESSIONS=${MEMORY_MAX_SESSIONS:-$((SESSIONS + 1000))}
export NEAR_CACHE_MAX_ENTRIES=${NEAR_CACHE_MAX_ENTRIES:-}
export NEAR_CACHE_MAX_BYTES=${NEAR_CACHE_MAX_BYTES:-}
export NEAR_CACHE_MAX_LAG_MS=${NEAR_CACHE_MAX_LAG_MS:-}
export VALUE_BYTES=${VALUE_BYTES:-0}
previous=0
for point in "${POINTS[@]}"; do
  if ! [ "$point" -gt "$previous" ] 2>/dev/null; then
    echo "error: CHECKPOINTS must be ascending positive numbers (got: $CHECKPOINTS)" >&2
    exit 2
  fi
  previous=$point
done

need java mvn wrk redis-server jcmd curl
build
RESULTS="$BENCH_DIR/target/memory-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$RESULTS"
trap cleanup EXIT
start_redis

# Prints the used heap in KB after two full GCs.
used_heap_kb() {
  jcmd "$SERVER_PID" GC.run >/dev/null
  jcmd "$SERVER_PID" GC.run >/dev/null
  jcmd "$SERVER_PID" GC.heap_info | grep -o 'used [0-9]*K' | head -1 | tr -dc '0-9'
}

# Prints the server's near_cache_entries (GET /metrics, ours-* servers), or nothing.
near_cache_entries() {
  curl -s --max-time 5 "http://127.0.0.1:$SERVER_PORT/metrics" 2>/dev/null \
    | grep -o '"near_cache_entries":[0-9]*' | tr -dc '0-9' || true
}

mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

ROWS=()
declare -A HEAP=() ENTRIES=() BOUND=()
for server in $MEM_SERVERS; do
  log="$RESULTS/$server.server.log"
  flush_redis
  echo "== $server" >&2
  rc=0
  start_server "$server" "$log" || rc=$?
  if [ "$rc" = 3 ]; then
    ROWS+=("| $server | n/a (backend missing) | | | | | |")
    continue
  elif [ "$rc" != 0 ]; then
    ROWS+=("| $server | n/a (server failed to start, see $(basename "$log")) | | | | | |")
    continue
  fi
  BOUND[$server]=$(sed -n 's/^NEAR_CACHE max_entries=\([0-9]*\) max_bytes=\([0-9]*\)$/\1 entries, \2 bytes/p' "$log")
  MODE=counter wrk -t"$FRESH_CONCURRENCY" -c"$FRESH_CONCURRENCY" -d"${WARMUP}s" -s "$BENCH_DIR/wrk/session.lua" \
    "http://127.0.0.1:$SERVER_PORT" >"$RESULTS/$server.warmup.txt"
  before=$(used_heap_kb)
  HEAP[$server:0]=$before
  ENTRIES[$server:0]=$(near_cache_entries)
  created=0
  for point in "${POINTS[@]}"; do
    java -Xmx256m -cp "$JAR" dev.vertxsessions.bench.FreshSessions "$SERVER_PORT" $((point - created)) \
      "$FRESH_CONCURRENCY" | tee -a "$RESULTS/$server.fresh.txt" >&2
    created=$point
    right_after=$(used_heap_kb)
    after=$right_after
    for ((waited = 0; waited < 60; waited += 5)); do
      sleep 5
      previous=$after
      after=$(used_heap_kb)
      if [ $((after - previous)) -lt 1024 ] && [ $((previous - after)) -lt 1024 ]; then
        break
      fi
    done
    HEAP[$server:$point]=$after
    ENTRIES[$server:$point]=$(near_cache_entries)
    echo "   $point sessions: $(mb "$right_after") MB right after, $(mb "$after") MB settled," \
      "near_cache_entries ${ENTRIES[$server:$point]:-n/a}" >&2
  done
  stored="in the heap"
  case "$server" in
    ours-file | ours-file-cached)
      directory=$(sed -n 's/^session directory: //p' "$log")
      stored="$(find "$directory" -maxdepth 1 -type f -name 'session_*' | wc -l) files" ;;
    ours-redis | ours-redis-cached | vertx-redis)
      stored="$(redis-cli -p "$REDIS_PORT" dbsize) Redis keys" ;;
    ours-signed | vertx-cookie)
      stored="in the cookies" ;;
  esac
  stop_server
  ROWS+=("$(awk -v s="$server" -v b="$before" -v r="$right_after" -v a="$after" -v n="$SESSIONS" -v st="$stored" \
    'BEGIN { printf "| %s | %.1f MB | %.1f MB | %.1f MB | %+.1f MB | %.0f | %s |", s, b / 1024, r / 1024, a / 1024,
      (a - b) / 1024, (a - b) * 1024 / n, st }')")
  echo "${ROWS[-1]}" >&2
done

{
  echo "Memory: used heap after a full GC, before and after $SESSIONS new sessions (JAVA_OPTS: $JAVA_OPTS;" \
    "VALUE_BYTES: $VALUE_BYTES; NEAR_CACHE_MAX_ENTRIES: ${NEAR_CACHE_MAX_ENTRIES:-default};" \
    "NEAR_CACHE_MAX_BYTES: ${NEAR_CACHE_MAX_BYTES:-default}; NEAR_CACHE_MAX_LAG_MS: ${NEAR_CACHE_MAX_LAG_MS:-default})"
  echo
  echo "| server | heap before | right after the last answer | settled | growth (settled) | bytes per session | where the sessions are |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
  if [ "${#POINTS[@]}" -gt 1 ] || [[ " $MEM_SERVERS " == *-cached* ]]; then
    echo
    echo "Settled heap (MB) after each checkpoint; in brackets near_cache_entries"
    echo
    line="| server | before"
    rule="|---|---:"
    for point in "${POINTS[@]}"; do
      line+=" | $point"
      rule+="|---:"
    done
    echo "$line |"
    echo "$rule|"
    for server in $MEM_SERVERS; do
      [ -n "${HEAP[$server:0]:-}" ] || continue
      line="| $server"
      for point in 0 "${POINTS[@]}"; do
        line+=" | $(mb "${HEAP[$server:$point]}")"
        if [ -n "${ENTRIES[$server:$point]:-}" ] && [ -n "${BOUND[$server]:-}" ]; then
          line+=" (${ENTRIES[$server:$point]})"
        fi
      done
      echo "$line |"
    done
    echo
    echo "The near cache's share: heap of the *-cached server minus heap of the same server without it"
    echo
    echo "| server | bound | sessions | heap | without the cache | cache's share | near_cache_entries | bytes per entry |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    for server in $MEM_SERVERS; do
      base=${server%-cached}
      if [ "$base" = "$server" ] || [ -z "${HEAP[$server:0]:-}" ] || [ -z "${HEAP[$base:0]:-}" ]; then
        continue
      fi
      for point in 0 "${POINTS[@]}"; do
        awk -v s="$server" -v bd="${BOUND[$server]:-}" -v p="$point" -v c="${HEAP[$server:$point]}" \
          -v u="${HEAP[$base:$point]}" -v e="${ENTRIES[$server:$point]:-}" \
          'BEGIN { share = c - u
            per = (e != "" && e > 0) ? sprintf("%.0f", share * 1024 / e) : ""
            printf "| %s | %s | %s | %.1f MB | %.1f MB | %+.1f MB | %s | %s |\n", s, bd, (p == 0 ? "warm-up only" : p),
              c / 1024, u / 1024, share / 1024, e, per }'
      done
    done
  fi
} | tee "$RESULTS/table.md"
echo >&2
echo "raw results: $RESULTS" >&2
