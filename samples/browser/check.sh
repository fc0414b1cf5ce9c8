#!/usr/bin/env bash
# Real-browser checks of the demo, outside `mvn test` (they need Chromium and Node.js).
#
#   samples/browser/check.sh                          start the demo on PORT (default 18080), run the checks, stop it
#   SESSION_BACKEND=file samples/browser/check.sh     the same on another backend (any variable of the demo works)
#   DEMO_URL=http://127.0.0.1:8080 samples/browser/check.sh   check a demo that is already running
#
# It installs what is missing: the Debian package chromium (as root, with apt-get) and the npm package
# playwright-core (into samples/browser/node_modules). It never downloads a browser of Playwright's own.
# Exit status: 0 passed, 1 a check failed, 2 the checks could not run.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "check.sh: /usr/bin/chromium is missing; install it with: sudo apt-get install -y chromium" >&2
    exit 2
  fi
  echo "Installing chromium (Debian package)..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi
command -v node >/dev/null && command -v npm >/dev/null || {
  echo "check.sh: Node.js and npm are needed (Debian packages nodejs and npm)" >&2
  exit 2
}
if [ ! -d "$here/node_modules/playwright-core" ]; then
  echo "Installing playwright-core (npm package)..."
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error)
fi

demo_pid=""
log=""
stop_demo() {
  if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
    kill "$demo_pid" 2>/dev/null || true
    wait "$demo_pid" 2>/dev/null || true
  fi
  if [ -n "$log" ]; then
    rm -f "$log"
  fi
}
trap stop_demo EXIT

url="${DEMO_URL:-}"
if [ -z "$url" ]; then
  port="${PORT:-18080}"
  url="http://127.0.0.1:$port"
  log="$(mktemp)"
  echo "Starting the demo on port $port (the first run compiles for a minute or two)..."
  (cd "$root" && PORT="$port" exec mvn -q test-compile exec:java) >"$log" 2>&1 &
  demo_pid=$!
  for _ in $(seq 1 600); do
    if grep -q "listening on" "$log"; then
      break
    fi
    if ! kill -0 "$demo_pid" 2>/dev/null; then
      echo "check.sh: the demo did not start:" >&2
      cat "$log" >&2
      exit 2
    fi
    sleep 1
  done
  if ! grep -q "listening on" "$log"; then
    echo "check.sh: the demo did not start within 10 minutes:" >&2
    cat "$log" >&2
    exit 2
  fi
  grep "listening on" "$log"
fi

status=0
node "$here/back-after-logout.mjs" "$url" || status=$?
exit "$status"
