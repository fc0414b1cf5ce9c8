#!/usr/bin/env bash
# Micro benchmarks (JMH) of the signed-cookie hot path: encode+sign and verify+decode for a one-key and a ~1 KB
# session, against a raw HMAC-SHA256 over the same bytes. Prints JMH's table; the full output goes to
# bench/target/jmh-<timestamp>.txt.
#
#   bench/jmh.sh                       # -f1 -wi 2 -i 3 -w 2s -r 2s
#   bench/jmh.sh -f1 -wi 5 -i 10       # any JMH options replace the defaults
#
# SKIP_BUILD=1 reuses bench/target/benchmarks.jar.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

need java mvn
build
if [ $# -eq 0 ]; then
  set -- -f1 -wi 2 -i 3 -w 2s -r 2s
fi
OUT="$BENCH_DIR/target/jmh-$(date +%Y%m%d-%H%M%S).txt"
java -jar "$JAR" SignedCookieBenchmark "$@" -rf csv -rff "$OUT.csv" >"$OUT"
grep -E '^# session=' "$OUT" | sort -u
echo
# Throughput of each operation as a share of the raw HMAC-SHA256 over the same bytes (same session size).
awk -F, 'NR > 1 {
    gsub(/["\r]/, ""); name = $1; sub(/.*\./, "", name)
    score[$8 "/" name] = $5; error[$8 "/" name] = $6; sessions[$8] = 1
  }
  END {
    print "| session | operation | ops/ms | ± (99.9%) | share of raw HMAC-SHA256 |"
    print "|---|---|---:|---:|---:|"
    n = split("small 1kb", order, " ")
    for (i = 1; i <= n; i++) {
      s = order[i]
      if (!(s in sessions)) continue
      split("rawHmacSha256 encodeAndSign verifyAndDecode", ops, " ")
      for (j = 1; j <= 3; j++) {
        k = s "/" ops[j]
        printf "| %s | %s | %.1f | %.1f | %.0f%% |\n", s, ops[j], score[k], error[k], 100 * score[k] / score[s "/rawHmacSha256"]
      }
    }
  }' "$OUT.csv"
echo >&2
echo "full output: $OUT" >&2
