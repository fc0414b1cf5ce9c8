#!/usr/bin/env bash
# Soak test: a bounded, steady load on the loopback interface against the sample-like SoakServer, for the
# signed-cookie and the file backends in turn, sampling the server's live heap (jcmd GC.run + GC.heap_info) and the
# number of session files. Prints a verdict per backend: zero errors, no heap growth trend, file count bounded.
#
#   soak/soak.sh [--duration SECONDS] [--connections N] [--threads N] [--sample SECONDS] [--backends "signed file"]
#
# Defaults: 300 s per backend, 16 connections, 1 wrk thread, a sample every 15 s, both backends.
# Needs: java + jcmd (JDK 17), mvn, wrk. Never part of `mvn test`. Exit status 0 when every verdict is PASS.
set -euo pipefail

DURATION=300
CONNECTIONS=16
THREADS=1
SAMPLE=15
BACKENDS="signed file"
while [ $# -gt 0 ]; do
  case "$1" in
    --duration) DURATION="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    --backends) BACKENDS="$2"; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in java jcmd mvn wrk; do
  command -v "$tool" >/dev/null || { echo "soak: $tool is not installed" >&2; exit 2; }
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=soak/lib.sh
. "$ROOT/soak/lib.sh"
WORK="$(mktemp -d /tmp/vertx-sessions-soak.XXXXXX)"
SERVER_PID=""
WRK_PID=""
cleanup() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "soak: building test classes and the class path"
CLASSPATH="$(soak_classpath "$ROOT" "$WORK")"


OVERALL=0
SUMMARY=""
for BACKEND in $BACKENDS; do
  DIR="$WORK/sessions-$BACKEND"
  LOG="$WORK/server-$BACKEND.log"
  java -Xmx256m -cp "$CLASSPATH" dev.vertxsessions.security.SoakServer "$BACKEND" "$DIR" >"$LOG" 2>&1 &
  SERVER_PID=$!
  PORT=""
  for _ in $(seq 1 100); do
    PORT="$(sed -n 's/^PORT \([0-9]*\)$/\1/p' "$LOG")"
    [ -n "$PORT" ] && break
    sleep 0.2
  done
  [ -n "$PORT" ] || { echo "soak: $BACKEND server did not start:"; cat "$LOG"; exit 1; }
  URL="http://127.0.0.1:$PORT/"

  echo "soak: $BACKEND: warm-up 10 s, then ${DURATION} s at $CONNECTIONS connections"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d10s -s "$ROOT/soak/soak.lua" "$URL" >/dev/null
  SAMPLES="$WORK/samples-$BACKEND.txt"
  : >"$SAMPLES"
  wrk -t"$THREADS" -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$ROOT/soak/soak.lua" "$URL" \
    >"$WORK/wrk-$BACKEND.txt" 2>&1 &
  WRK_PID=$!
  START=$(date +%s)
  while kill -0 "$WRK_PID" 2>/dev/null; do
    FILES=0
    [ -d "$DIR" ] && FILES=$(find "$DIR" -maxdepth 1 -name 'session_*' | wc -l)
    echo "$(( $(date +%s) - START )) $(live_heap_kb "$SERVER_PID") $FILES" >>"$SAMPLES"
    for _ in $(seq 1 "$SAMPLE"); do kill -0 "$WRK_PID" 2>/dev/null && sleep 1; done
  done
  wait "$WRK_PID" || true
  WRK_PID=""
  FILES=0
  [ -d "$DIR" ] && FILES=$(find "$DIR" -maxdepth 1 -name 'session_*' | wc -l)
  echo "$(( $(date +%s) - START )) $(live_heap_kb "$SERVER_PID") $FILES" >>"$SAMPLES"
  kill "$SERVER_PID" 2>/dev/null || true; wait "$SERVER_PID" 2>/dev/null || true
  SERVER_PID=""

  RESULT="$(grep '^SOAK ' "$WORK/wrk-$BACKEND.txt" || echo 'SOAK requests=0 non2xx=0 connect=0 read=0 write=0 timeout=0')"
  RPS="$(sed -n 's/^Requests\/sec: *\([0-9.]*\)/\1/p' "$WORK/wrk-$BACKEND.txt")"
  echo "soak: $BACKEND samples (seconds, live heap KB, session files):"
  sed 's/^/  /' "$SAMPLES"
  VERDICT="$(awk -v backend="$BACKEND" -v result="$RESULT" -v rps="$RPS" '
    { t[NR] = $1; heap[NR] = $2; files[NR] = $3 }
    END {
      n = NR
      split(result, kv, " ")
      for (i in kv) { split(kv[i], p, "="); r[p[1]] = p[2] }
      errors = r["non2xx"] + r["connect"] + r["read"] + r["write"] + r["timeout"]
      # Heap trend: least-squares slope of the live heap, and last third against first third.
      k = int(n / 3); if (k < 1) k = 1
      for (i = 1; i <= k; i++) first += heap[i]
      for (i = n - k + 1; i <= n; i++) last += heap[i]
      first /= k; last /= k
      for (i = 1; i <= n; i++) { st += t[i]; sh += heap[i] }
      mt = st / n; mh = sh / n
      for (i = 1; i <= n; i++) { num += (t[i] - mt) * (heap[i] - mh); den += (t[i] - mt) ^ 2 }
      slope = den > 0 ? num / den * 60 : 0
      heapOk = last <= first * 1.25 + 16384
      # Files: bounded when the second half never exceeds the first half by more than half (plus slack).
      h = int(n / 2); if (h < 1) h = 1
      for (i = 1; i <= n; i++) { if (i <= h && files[i] > fmax1) fmax1 = files[i]; if (i > h && files[i] > fmax2) fmax2 = files[i] }
      filesOk = backend == "signed" ? (fmax1 + fmax2 == 0) : (fmax2 <= fmax1 * 1.5 + 100)
      ok = errors == 0 && r["requests"] > 0 && heapOk && filesOk
      printf "%s: %s  requests=%d (%.0f/s) errors=%d p99=%sms | live heap first/last third %d/%d KB, slope %+.0f KB/min %s | session files max %d then %d %s\n",
        backend, ok ? "PASS" : "FAIL", r["requests"], rps, errors, r["p99_ms"], first, last, slope,
        heapOk ? "(no growth)" : "(GROWING)", fmax1, fmax2, filesOk ? "(bounded)" : "(UNBOUNDED)"
    }' "$SAMPLES")"
  echo "$VERDICT"
  SUMMARY="$SUMMARY$VERDICT"$'\n'
  case "$VERDICT" in *": PASS "*) ;; *) OVERALL=1 ;; esac
done

echo
echo "soak verdict (${DURATION} s per backend, $CONNECTIONS connections):"
printf '%s' "$SUMMARY"
exit $OVERALL
