# Shared by http.sh and memory.sh (sourced, not run). Expects BENCH_DIR to be set.

JAVA_OPTS=${JAVA_OPTS:-"-Xms512m -Xmx512m -XX:+UseG1GC -XX:+AlwaysPreTouch"}
JAR=${JAR:-"$BENCH_DIR/target/benchmarks.jar"}
REDIS_PID=""
REDIS_PORT=""
SERVER_PID=""
SERVER_PORT=""

need() {
  for program in "$@"; do
    command -v "$program" >/dev/null 2>&1 || { echo "error: $program is not installed (needed by this benchmark)" >&2; exit 1; }
  done
}

# Installs the library from the enclosing checkout, then builds target/benchmarks.jar. SKIP_BUILD=1 skips both.
build() {
  if [ "${SKIP_BUILD:-0}" = 1 ] && [ -f "$JAR" ]; then
    return
  fi
  echo "building: mvn install of vertx-sessions, then the benchmark jar ..." >&2
  mvn -q -f "$BENCH_DIR/../pom.xml" install -DskipTests
  # Not `clean`: target/ also keeps earlier results. Fresh classes, so no deleted benchmark lingers in the jar.
  rm -rf "$BENCH_DIR/target/classes" "$BENCH_DIR/target/generated-sources"
  mvn -q -f "$BENCH_DIR/pom.xml" package
}

# Prints a TCP port on 127.0.0.1 that nothing listens on.
free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "$port"
      return
    fi
  done
}

wait_for_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# Starts a throw-away redis-server (no persistence) on a free loopback port; sets REDIS_PORT and REDIS_PID.
start_redis() {
  REDIS_PORT=$(free_port)
  redis-server --port "$REDIS_PORT" --save "" --appendonly no --bind 127.0.0.1 --daemonize no \
    >"$RESULTS/redis.log" 2>&1 &
  REDIS_PID=$!
  wait_for_port "$REDIS_PORT" 20 || { echo "error: redis-server did not start, see $RESULTS/redis.log" >&2; exit 1; }
}

stop_redis() {
  if [ -n "$REDIS_PID" ]; then
    kill "$REDIS_PID" 2>/dev/null || true
    wait "$REDIS_PID" 2>/dev/null || true
    REDIS_PID=""
  fi
}

flush_redis() {
  if [ -n "$REDIS_PORT" ] && command -v redis-cli >/dev/null 2>&1; then
    redis-cli -p "$REDIS_PORT" flushall >/dev/null
  fi
}

# start_server NAME LOG: starts a BenchServer on a free port (SERVER_PORT, SERVER_PID). Returns 0 when it listens,
# 3 when the backend is missing from this build, 1 on any other failure.
start_server() {
  local name=$1 log=$2 i rc
  SERVER_PORT=$(free_port)
  # shellcheck disable=SC2086 # JAVA_OPTS is a list of flags
  PORT=$SERVER_PORT REDIS_URL="redis://127.0.0.1:$REDIS_PORT" \
    java $JAVA_OPTS -cp "$JAR" dev.vertxsessions.bench.BenchServer "$name" >"$log" 2>&1 &
  SERVER_PID=$!
  for ((i = 0; i < 600; i++)); do
    if grep -q "^READY " "$log"; then
      return 0
    fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      rc=0
      wait "$SERVER_PID" || rc=$?
      SERVER_PID=""
      [ "$rc" = 3 ] && return 3
      return 1
    fi
    sleep 0.1
  done
  stop_server
  return 1
}

stop_server() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
  fi
}

cleanup() {
  stop_server
  stop_redis
}

# Reads key=value out of a "RESULT ..." line.
field() { # line key
  local pair
  for pair in $1; do
    if [ "${pair%%=*}" = "$2" ]; then
      echo "${pair#*=}"
      return
    fi
  done
  echo ""
}
