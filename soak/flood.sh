#!/usr/bin/env bash
# Flood soak: N requests without a cookie (each one a new anonymous session) against the demo application on the
# file backend, with its flood defaults (SESSION_ANONYMOUS_EXPIRY 1800 s, SESSION_FILE_MAX_SESSIONS), while a
# browser logs in every few seconds and members logged in before the flood check that they are still logged in.
# Samples the session directory (files, disk use) and the live heap. Prints a verdict: the file count never exceeds
# the quota, the disk use stays bounded, the heap stays flat, every login succeeds and no member is evicted.
#
#   soak/flood.sh [--requests N] [--quota FILES] [--connections N] [--threads N] [--sample SECONDS] [--members N]
#
# Defaults: 1000000 requests, quota 100000 (the demo's default), 32 connections, 2 wrk threads, a sample every 30 s,
# 20 members. Needs: java + jcmd (JDK 17), mvn, wrk, curl. Never part of `mvn test`. Exit status 0 on PASS.
set -euo pipefail

REQUESTS=1000000
QUOTA=100000
CONNECTIONS=32
THREADS=2
SAMPLE=30
MEMBERS=20
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) REQUESTS="$2"; shift 2 ;;
    --quota) QUOTA="$2"; shift 2 ;;
    --connections) CONNECTIONS="$2"; shift 2 ;;
    --threads) THREADS="$2"; shift 2 ;;
    --sample) SAMPLE="$2"; shift 2 ;;
    --members) MEMBERS="$2"; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
for tool in java jcmd mvn wrk curl; do
  command -v "$tool" >/dev/null || { echo "flood: $tool is not installed" >&2; exit 2; }
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=soak/lib.sh
. "$ROOT/soak/lib.sh"
WORK="$(mktemp -d /tmp/vertx-sessions-flood.XXXXXX)"
DIR="$WORK/sessions"
SERVER_PID=""
WRK_PID=""
cleanup() {
  [ -n "$WRK_PID" ] && { pkill -P "$WRK_PID" 2>/dev/null; kill "$WRK_PID" 2>/dev/null; } || true
  [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "flood: building the demo and its class path"
CLASSPATH="$(soak_classpath "$ROOT" "$WORK")"

PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
URL="http://127.0.0.1:$PORT"
SESSION_BACKEND=file SESSION_DIR="$DIR" SESSION_FILE_MAX_SESSIONS="$QUOTA" PORT="$PORT" \
  SESSION_SECRET="flood-soak-secret-flood-soak-secret-0123" \
  java -Xmx256m -cp "$CLASSPATH" dev.vertxsessions.samples.DemoApp >"$WORK/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 1 150); do
  curl -fs -o /dev/null "$URL/login" && break
  sleep 0.2
done
curl -fs -o /dev/null "$URL/login" || { echo "flood: the demo did not start:"; cat "$WORK/server.log"; exit 1; }

# Logs a new browser in (an anonymous visit first, so the login moves a session), then checks its dashboard.
# Prints "ok" or what failed.
login() {
  local jar="$1"
  rm -f "$jar"
  local visit login dashboard
  visit="$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" "$URL/")"
  login="$(curl -s -o /dev/null -w '%{http_code}' -c "$jar" -b "$jar" \
    --data 'username=alice&password=wonderland' "$URL/login")"
  dashboard="$(curl -s -c "$jar" -b "$jar" "$URL/dashboard" | grep -c 'alice' || true)"
  if [ "$visit" = 200 ] && [ "$login" = 302 ] && [ "$dashboard" -ge 1 ]; then echo ok; else
    echo "visit=$visit login=$login dashboard_mentions_alice=$dashboard"; fi
}
still_logged_in() {
  curl -s -b "$1" "$URL/dashboard" | grep -c 'alice' || true
}

echo "flood: logging in $MEMBERS members before the flood"
for i in $(seq 1 "$MEMBERS"); do
  result="$(login "$WORK/member-$i.jar")"
  [ "$result" = ok ] || { echo "flood: member $i could not log in: $result"; exit 1; }
done

sample() {
  local files du
  # Files come and go while they are counted: the errors about vanished ones are expected.
  files="$( (find "$DIR" -maxdepth 1 -name 'session_*' 2>/dev/null || true) | wc -l)"
  du="$( (du -sk "$DIR" 2>/dev/null || true) | tail -1 | cut -f1)"
  echo "$(( $(date +%s) - START )) $(live_heap_kb "$SERVER_PID") $files $du"
}

echo "flood: $REQUESTS requests without a cookie at $CONNECTIONS connections, quota $QUOTA files"
START=$(date +%s)
# wrk runs for a time, not a count: flood in 10-second rounds until the requests add up.
(
  DONE=0; NON2XX=0; SOCKET=0
  while [ "$DONE" -lt "$REQUESTS" ]; do
    wrk -t"$THREADS" -c"$CONNECTIONS" -d10s --timeout 10s -s "$ROOT/soak/flood.lua" "$URL/" >"$WORK/round.txt" 2>&1
    line="$(grep '^FLOOD ' "$WORK/round.txt")"
    DONE=$(( DONE + $(echo "$line" | sed 's/.*requests=\([0-9]*\).*/\1/') ))
    NON2XX=$(( NON2XX + $(echo "$line" | sed 's/.*non2xx=\([0-9]*\).*/\1/') ))
    SOCKET=$(( SOCKET + $(echo "$line" | sed 's/.*socket=\([0-9]*\).*/\1/') ))
    P99="$(echo "$line" | sed 's/.*p99_ms=\([0-9.]*\).*/\1/')"
    echo "$DONE $NON2XX $SOCKET $P99" >>"$WORK/progress.txt"
  done
) &
WRK_PID=$!
SAMPLES="$WORK/samples.txt"
LOGINS="$WORK/logins.txt"
: >"$SAMPLES"; : >"$LOGINS"
NEXT_SAMPLE=0
NEXT_REPORT=0
while kill -0 "$WRK_PID" 2>/dev/null; do
  NOW=$(( $(date +%s) - START ))
  if [ "$NOW" -ge "$NEXT_SAMPLE" ]; then
    sample >>"$SAMPLES"
    NEXT_SAMPLE=$(( NOW + SAMPLE ))
  fi
  echo "$NOW $(login "$WORK/probe.jar")" >>"$LOGINS"
  if [ -s "$WORK/progress.txt" ] && [ "$NOW" -ge "$NEXT_REPORT" ]; then
    echo "flood: ${NOW}s: $(tail -1 "$WORK/progress.txt" | cut -d' ' -f1) requests, $(tail -1 "$SAMPLES")"
    NEXT_REPORT=$(( NOW + 60 ))
  fi
  sleep 2
done
wait "$WRK_PID" || true
WRK_PID=""
sample >>"$SAMPLES"

KEPT=0
for i in $(seq 1 "$MEMBERS"); do
  [ "$(still_logged_in "$WORK/member-$i.jar")" -ge 1 ] && KEPT=$((KEPT + 1))
done
ELAPSED=$(( $(date +%s) - START ))
read -r DONE NON2XX SOCKET P99 < <(tail -1 "$WORK/progress.txt")
RESULT="FLOOD requests=$DONE non2xx=$NON2XX socket=$SOCKET p99_ms=$P99"
RPS=$(( DONE / (ELAPSED > 0 ? ELAPSED : 1) ))
LOGIN_TOTAL="$(wc -l <"$LOGINS")"
LOGIN_FAILED="$(grep -vc ' ok$' "$LOGINS" || true)"
EVICTED_HINT="$(grep -c 'session save failed' "$WORK/server.log" || true)"

echo "flood: samples (seconds, live heap KB, session files, disk KB):"
sed 's/^/  /' "$SAMPLES"
if [ "$LOGIN_FAILED" -gt 0 ]; then echo "flood: failed logins:"; grep -v ' ok$' "$LOGINS" | head -20; fi
awk -v result="$RESULT" -v rps="$RPS" -v quota="$QUOTA" -v logins="$LOGIN_TOTAL" -v failed="$LOGIN_FAILED" \
    -v kept="$KEPT" -v members="$MEMBERS" -v savefail="$EVICTED_HINT" '
  { t[NR] = $1; heap[NR] = $2; files[NR] = $3; du[NR] = $4 }
  END {
    n = NR
    split(result, kv, " ")
    for (i in kv) { split(kv[i], p, "="); r[p[1]] = p[2] }
    errors = r["non2xx"] + r["socket"]
    # Samples 2 to n-1 were taken during the flood (the first before it, the last after it).
    fmin = n > 2 ? files[2] : files[n]; fmax = fmin
    for (i = 2; i < n; i++) { if (files[i] > fmax) fmax = files[i]; if (files[i] < fmin) fmin = files[i] }
    for (i = 1; i <= n; i++) if (du[i] > dmax) dmax = du[i]
    final = files[n]
    # Heap: once the directory is full (the quota index is then at its largest), the last third of the samples
    # against the middle third.
    k = int(n / 3); if (k < 1) k = 1
    for (i = n - 2 * k + 1; i <= n - k; i++) mid += heap[i]
    for (i = n - k + 1; i <= n; i++) last += heap[i]
    mid /= k; last /= k
    # The last sample is taken after the flood: an exact count. The others list a directory in which thousands of
    # files a second come and go, so a listing may see a new file and still the one evicted for it (or neither).
    filesOk = final <= quota && fmax <= quota * 1.001
    heapOk = last <= mid * 1.25 + 16384
    ok = errors == 0 && r["requests"] > 0 && filesOk && heapOk && failed == 0 && kept == members
    printf "flood: %s  requests=%d (%.0f/s) errors=%d p99 of the last round=%sms | session files after the flood %d (quota %d) %s, listed during it %d to %d, disk max %d KB | live heap middle/last third %d/%d KB %s | logins %d, failed %d | members kept %d of %d | saves failed after the response %d\n",
      ok ? "PASS" : "FAIL", r["requests"], rps, errors, r["p99_ms"], final, quota, filesOk ? "(bounded)" : "(OVER)",
      fmin, fmax, dmax, mid, last, heapOk ? "(flat)" : "(GROWING)", logins, failed, kept, members, savefail
    exit ok ? 0 : 1
  }' "$SAMPLES"
