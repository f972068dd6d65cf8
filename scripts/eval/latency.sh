#!/usr/bin/env bash
# Sequential GET context latency (issue 5 target: p95 <= 20 ms) on one long LoCoMo conversation, over HTTP
# against the Release service on loopback. Reuses scripts/eval/run.sh (fresh database, own port and queues,
# cleanup; without the LoCoMo gates) with one request at a time, then takes p50/p95/p99 of the client-side latencies after a warm-up.
# Usage: bash scripts/eval/latency.sh [extra tool options]
# Env knobs: CONVERSATION (conv-41: 663 turns, 152 questions asked), BUDGETS (1000,2000), WARMUP (requests
# left out at the start, 50), plus run.sh's LOCOMO_DIR and SERVICE_PORT.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
warmup="${WARMUP:-50}"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
echo "latency: $(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) cores"
CONCURRENCY=1 bash "$root/scripts/eval/run.sh" --no-gates --conversations "${CONVERSATION:-conv-41}" \
  --budgets "${BUDGETS:-1000,2000}" "$@" | tee "$log"
out=$(sed -n 's/^eval: report: \(.*\)\/report.md.*/\1/p' "$log")
# Rows are in request order at concurrency 1 (question, then budget); the question text is the last column.
tail -n +2 "$out/per-question.csv" | cut -d, -f8 | tail -n +$((warmup + 1)) | sort -g | awk -v out="$out" '
  { v[NR] = $1; sum += $1 }
  function at(p,  i) { i = int(p * NR + 0.999999); if (i < 1) i = 1; return v[i] }
  END {
    if (NR == 0) { print "latency: no measurements"; exit 1 }
    line = sprintf("latency: %d requests after warm-up: p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, mean %.1f ms",
      NR, at(0.50), at(0.95), at(0.99), v[NR], sum / NR)
    print line; print line > (out "/latency.txt")
  }'
echo "latency: load average at end $(cut -d' ' -f1-3 /proc/loadavg)"
