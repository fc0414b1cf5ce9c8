#!/usr/bin/env bash
# Memory benchmark: the server's heap after SESSIONS (100,000) distinct sessions. For each server: start it, warm
# it up with WARMUP seconds of the counter workload, force a full GC and read the used heap (jcmd GC.run +
# GC.heap_info), create SESSIONS new sessions (GET /counter without a cookie, 8 at a time, each stored), then GC
# and read the heap again: at once ("right after": includes saves still queued behind the answers) and once it
# settles (two readings 5 s apart within 1 MB, at most 60 s). A backend that keeps no per-session state in the
# JVM is flat once settled.
#
#   bench/memory.sh
#   SESSIONS=10000 WARMUP=2 bench/memory.sh         # smoke run
#
# Environment: SESSIONS [100000], WARMUP [5], MEM_SERVERS ["vertx-local ours-memory ours-signed ours-file
# ours-redis"], JAVA_OPTS and SKIP_BUILD as for http.sh. vertx-local (Vert.x-Web's in-memory store) and
# ours-memory keep every session in the heap; for ours-memory the bound memory_max_sessions (default 10,000) is
# raised to MEMORY_MAX_SESSIONS [SESSIONS + 1000] so that it keeps all of them, as vertx-local does.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

SESSIONS=${SESSIONS:-100000}
WARMUP=${WARMUP:-5}
MEM_SERVERS=${MEM_SERVERS:-"vertx-local ours-memory ours-signed ours-file ours-redis"}
export MEMORY_MAX_SESSIONS=${MEMORY_MAX_SESSIONS:-$((SESSIONS + 1000))}

need java mvn wrk redis-server jcmd
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

ROWS=()
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
  MODE=counter wrk -t8 -c8 -d"${WARMUP}s" -s "$BENCH_DIR/wrk/session.lua" "http://127.0.0.1:$SERVER_PORT" \
    >"$RESULTS/$server.warmup.txt"
  before=$(used_heap_kb)
  java -Xmx256m -cp "$JAR" dev.vertxsessions.bench.FreshSessions "$SERVER_PORT" "$SESSIONS" 8 \
    | tee "$RESULTS/$server.fresh.txt" >&2
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
  stored="in the heap"
  case "$server" in
    ours-file)
      directory=$(sed -n 's/^session directory: //p' "$log")
      stored="$(find "$directory" -maxdepth 1 -type f -name 'session_*' | wc -l) files" ;;
    ours-redis | vertx-redis)
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
  echo "Memory: used heap after a full GC, before and after $SESSIONS new sessions (JAVA_OPTS: $JAVA_OPTS)"
  echo
  echo "| server | heap before | right after the last answer | settled | growth (settled) | bytes per session | where the sessions are |"
  echo "|---|---:|---:|---:|---:|---:|---|"
  printf '%s\n' "${ROWS[@]}"
} | tee "$RESULTS/table.md"
echo >&2
echo "raw results: $RESULTS" >&2
