#!/usr/bin/env bash
# Micro benchmarks (JMH): SignedCookieBenchmark, encode+sign and verify+decode (of a cookie the codec does not
# remember, and of one it just issued) of a one-key and a ~1 KB session,
# signed only and signed+encrypted (AES-256-GCM, the default),
# against a raw HMAC-SHA256 over the same bytes (throughput, ops/ms). Prints a markdown table; the full JMH
# output goes to bench/target/jmh-<timestamp>.txt. (The file backend has no micro benchmark: its store is not
# public API, and its cost per request is the ours-file rows of http.sh.)
#
#   bench/jmh.sh                                         # -f1 -wi 2 -i 3 -w 2s -r 2s
#   bench/jmh.sh SignedCookieBenchmark -f1 -wi 5 -i 10   # JMH options after the name replace the defaults
#
# SKIP_BUILD=1 reuses bench/target/benchmarks.jar.
set -euo pipefail

BENCH_DIR=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=lib.sh
. "$BENCH_DIR/lib.sh"

need java mvn
build
PATTERN='SignedCookieBenchmark\.(encode|verify|raw|part)'
if [ $# -gt 0 ] && [ "${1#-}" = "$1" ]; then
  PATTERN=$1
  shift
fi
if [ $# -eq 0 ]; then
  set -- -f1 -wi 2 -i 3 -w 2s -r 2s
fi
OUT="$BENCH_DIR/target/jmh-$(date +%Y%m%d-%H%M%S).txt"
java -jar "$JAR" "$PATTERN" "$@" -rf csv -rff "$OUT.csv" >"$OUT"
grep -E '^# session=' "$OUT" | sort -u || true
# Throughput of each codec operation as a share of the raw HMAC-SHA256 over the same bytes (same session size);
# the part* rows are pieces of the codec timed alone (deflate/inflate only matter for the 1 KB session).
awk -F, 'NR == 1 {
    for (c = 1; c <= NF; c++) { h = $c; gsub(/["\r]/, "", h); if (h == "Param: session") sc = c; if (h == "Param: encrypted") ec = c }
    next
  }
  {
    gsub(/["\r]/, ""); name = $1; sub(/.*\./, "", name)
    enc = ec ? $ec : "false"
    key = $sc "/" enc "/" name; score[key] = $5; error[key] = $6; present[$sc] = 1
  }
  END {
    print ""
    print "| session | encrypted | operation | ops/ms | ± (99.9%) | share of raw HMAC-SHA256 |"
    print "|---|---|---|---:|---:|---:|"
    split("small 1kb", sizes, " ")
    split("false true", modes, " ")
    nops = split("rawHmacSha256 encodeAndSign verifyAndDecode verifyAndDecodeRemembered partJsonWrite partJsonRead partDeflate partInflate", ops, " ")
    for (i = 1; i <= 2; i++) {
      for (m = 1; m <= 2; m++) {
        for (j = 1; j <= nops; j++) {
          k = sizes[i] "/" modes[m] "/" ops[j]
          base = sizes[i] "/" modes[m] "/rawHmacSha256"
          if (k in score && base in score) {
            printf "| %s | %s | %s | %.1f | %.1f | %.0f%% |\n", sizes[i], modes[m], ops[j], score[k], error[k],
              100 * score[k] / score[base]
          }
        }
      }
    }
  }' "$OUT.csv"
echo >&2
echo "full output: $OUT" >&2
